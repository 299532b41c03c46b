#include "adapter.hpp"

#include "../../util/log.hpp"
#include "transport.hpp"

namespace switchboard::server::redis {

io::adapter_factory make_adapter_factory(const address& at, std::string key, std::chrono::milliseconds requests_timeout,
                                         bool sharded) {
    SB_LOG(info, "joining the Redis cluster at {}:{} ({} wire, key '{}', requests wait {} ms)", at.host, at.port,
           sharded ? "sharded" : "classic", key, requests_timeout.count());
    auto shared = sharded ? make_sharded_transport(at, std::move(key)) : make_classic_transport(at, std::move(key));
    cluster::cluster_settings settings;
    settings.requests_timeout = requests_timeout;
    return [shared, settings](const std::string& nsp, io::local_sockets& sockets) -> std::unique_ptr<io::adapter> {
        return cluster::make_cluster_adapter(shared, settings, nsp, sockets);
    };
}

} // namespace switchboard::server::redis
