// One Redis Cluster primary killed (SIGKILL) under load, node timeout 5 s, waitReplicas 0: students whose
// buckets live on the healthy shards keep getting acks all along, the others get err busy and catch up after the failover.

import t from 'tap';
import { killPrimaryUnderLoad } from '../helpers/shard-kill.js';

t.test('a primary killed under load: students on healthy shards keep being acked, nothing acked is lost or doubled', async (t) => {
  await killPrimaryUnderLoad(t, { exam: 'CL-ISO', replicas: 1, waitReplicas: 0 });
});
