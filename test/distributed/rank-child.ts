// One rank of a distributed Trainer run, started by mpirun from mpi.test.ts:
//   mpirun -np 2 node --import tsx test/distributed/rank-child.ts '<trainer options JSON>'
// Prints "done <step>" on success, or the error's message, and exits 1 on failure.
import { Trainer } from '../../src/index.js';

const options = JSON.parse(process.argv[2] ?? '{}');
const trainer = new Trainer({ task: new URL('./faulty-task.ts', import.meta.url), ...options });
try {
  const result = await trainer.result;
  console.log(`done ${result.step} rank ${result.distributed?.rank}`);
} catch (err) {
  console.log(`rank error: ${(err as Error).message}`);
  process.exitCode = 1;
}
