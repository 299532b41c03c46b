#include "adapter.hpp"

#include "transport.hpp"

namespace switchboard::server::redis {

io::adapter_factory make_adapter_factory(const address& at, std::string key, std::chrono::milliseconds requests_timeout,
                                         bool sharded) {
    auto shared = sharded ? make_sharded_transport(at, std::move(key)) : make_classic_transport(at, std::move(key));
    cluster::cluster_settings settings;
    settings.requests_timeout = requests_timeout;
    return [shared, settings](const std::string& nsp, io::local_sockets& sockets) -> std::unique_ptr<io::adapter> {
        return cluster::make_cluster_adapter(shared, settings, nsp, sockets);
    };
}

} // namespace switchboard::server::redis
