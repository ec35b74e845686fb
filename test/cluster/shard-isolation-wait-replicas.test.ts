// The shard-isolation scenario with waitReplicas 1 and two replicas per primary (issue 17 item 4's
// topology): the promoted replica still has a replica to confirm, so its shard is back after the failover.

import t from 'tap';
import { killPrimaryUnderLoad } from '../helpers/shard-kill.js';

t.test('waitReplicas 1, two replicas per primary, a primary killed under load: healthy shards keep acking, nothing lost or doubled', async (t) => {
  await killPrimaryUnderLoad(t, { exam: 'CL-ISO-W1', replicas: 2, waitReplicas: 1 });
});
