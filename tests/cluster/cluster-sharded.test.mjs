// The mixed-cluster suite (cluster.test.mjs) on the sharded wire: every node on sharded pub/sub
// (Switchboard --redis-sharded, the Node twin on createShardedAdapter), Redis 7's SPUBLISH/SSUBSCRIBE.
process.env.SWITCHBOARD_CLUSTER_WIRE = 'sharded';
await import('./cluster.test.mjs');
