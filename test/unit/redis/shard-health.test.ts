// Which replicas count as in sync, read from a primary's INFO replication as Redis 7 prints it.

import t from 'tap';
import { parseReplicas } from '../../../src/redis/shard-health.js';

t.test('a replica is in sync once its initial sync is done and it acknowledged lately', async (t) => {
  const info = [
    '# Replication',
    'role:master',
    'connected_slaves:3',
    'slave0:ip=10.0.0.21,port=6379,state=online,offset=4242,lag=0',
    'slave1:ip=10.0.0.22,port=6380,state=wait_bgsave,offset=0,lag=0',
    'slave2:ip=10.0.0.23,port=6381,state=online,offset=4000,lag=11',
    'master_failover_state:no-failover',
    '',
  ].join('\r\n');
  t.same(parseReplicas(info), [
    { node: '10.0.0.21:6379', inSync: true },
    { node: '10.0.0.22:6380', inSync: false },
    { node: '10.0.0.23:6381', inSync: false },
  ]);
  t.same(parseReplicas('# Replication\r\nrole:master\r\nconnected_slaves:0\r\n'), []);
});
