// Where does this process sit in a multi-process job? Every launcher answers
// through its own environment variables; readLaunchEnv reads them into one shape.
//
//   torchrun (and Kubernetes PyTorchJob): RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
//                                          MASTER_ADDR, MASTER_PORT
//   srun (Slurm):                          SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID,
//                                          SLURM_STEP_TASKS_PER_NODE; MASTER_* set by the user
//   mpirun (Open MPI):                     OMPI_COMM_WORLD_RANK, _SIZE, _LOCAL_RANK, _LOCAL_SIZE
//
// 'nccl' tries them in that order and needs MASTER_ADDR and MASTER_PORT for the
// rendezvous that hands NCCL's unique id from rank 0 to the others. 'mpi' reads
// only Open MPI's variables: MPI assigns ranks itself, they are informational.
import { describeValue, rangeError } from '../errors.js';

export type LaunchSource = 'torchrun' | 'slurm' | 'mpirun';

export interface LaunchEnv {
  rank: number;
  worldSize: number;
  localRank: number; // rank among the processes on this machine: picks the GPU
  localWorldSize: number;
  masterAddr?: string; // rank 0's host; absent only where no rendezvous is needed
  masterPort?: number;
  source: LaunchSource;
}

type Env = Record<string, string | undefined>;

const MAX_RANKS = 1 << 24;

export function readLaunchEnv(engine: 'mpi' | 'nccl', env: Env = process.env): LaunchEnv {
  if (engine === 'mpi') {
    if (get(env, 'OMPI_COMM_WORLD_RANK') === undefined) {
      throw new Error(
        "toroid.distributed: distributed 'mpi' needs the process to be started by mpirun " +
          '(OMPI_COMM_WORLD_RANK is not set): mpirun -np 2 node train.mjs',
      );
    }
    return { ...readMpirun(env), ...readMaster(env, false, ''), source: 'mpirun' };
  }
  if (engine !== 'nccl') {
    throw rangeError('distributed', 'engine', "'mpi' or 'nccl'", describeValue(engine));
  }
  if (get(env, 'RANK') !== undefined) {
    const ranks = readTorchrun(env);
    return { ...ranks, ...readMaster(env, ranks.worldSize > 1, ''), source: 'torchrun' };
  }
  if (get(env, 'SLURM_PROCID') !== undefined) {
    const ranks = readSlurm(env);
    const hint =
      'Slurm does not set it; in the batch script: ' +
      'export MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1) MASTER_PORT=29500';
    return { ...ranks, ...readMaster(env, ranks.worldSize > 1, hint), source: 'slurm' };
  }
  if (get(env, 'OMPI_COMM_WORLD_RANK') !== undefined) {
    const ranks = readMpirun(env);
    const hint = 'mpirun does not set it: mpirun -x MASTER_ADDR=<rank 0 host> -x MASTER_PORT=29500 ...';
    return { ...ranks, ...readMaster(env, ranks.worldSize > 1, hint), source: 'mpirun' };
  }
  throw new Error(
    "toroid.distributed: distributed 'nccl' needs a launcher, but neither RANK (torchrun), " +
      'SLURM_PROCID (srun) nor OMPI_COMM_WORLD_RANK (mpirun) is set: ' +
      'torchrun --nproc-per-node=2 --no-python node train.mjs',
  );
}

type Ranks = Pick<LaunchEnv, 'rank' | 'worldSize' | 'localRank' | 'localWorldSize'>;

function readTorchrun(env: Env): Ranks {
  const worldSize = readCount(env, 'WORLD_SIZE');
  const rank = readIndex(env, 'RANK', 'WORLD_SIZE', worldSize);
  // torchrun always sets LOCAL_WORLD_SIZE; hand-written launchers may not, and
  // then all ranks are taken to share one machine
  const localName = get(env, 'LOCAL_WORLD_SIZE') === undefined ? 'WORLD_SIZE' : 'LOCAL_WORLD_SIZE';
  const localWorldSize = localName === 'WORLD_SIZE' ? worldSize : readLocalCount(env, localName, 'WORLD_SIZE', worldSize);
  const localRank = readIndex(env, 'LOCAL_RANK', localName, localWorldSize);
  return { rank, worldSize, localRank, localWorldSize };
}

function readSlurm(env: Env): Ranks {
  const worldSize = readCount(env, 'SLURM_NTASKS');
  const rank = readIndex(env, 'SLURM_PROCID', 'SLURM_NTASKS', worldSize);
  const [name, localWorldSize] = slurmTasksOnThisNode(env, worldSize);
  const localRank = readIndex(env, 'SLURM_LOCALID', name, localWorldSize);
  return { rank, worldSize, localRank, localWorldSize };
}

function readMpirun(env: Env): Ranks {
  const worldSize = readCount(env, 'OMPI_COMM_WORLD_SIZE');
  const rank = readIndex(env, 'OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE', worldSize);
  const localWorldSize = readLocalCount(env, 'OMPI_COMM_WORLD_LOCAL_SIZE', 'OMPI_COMM_WORLD_SIZE', worldSize);
  const localRank = readIndex(env, 'OMPI_COMM_WORLD_LOCAL_RANK', 'OMPI_COMM_WORLD_LOCAL_SIZE', localWorldSize);
  return { rank, worldSize, localRank, localWorldSize };
}

// Slurm lists the tasks of each node in node order, runs compressed: "2(x3),1"
// means 2 tasks on each of the first three nodes and 1 on the fourth. The
// step's list (srun) is more specific than the job's (sbatch).
function slurmTasksOnThisNode(env: Env, worldSize: number): [string, number] {
  const name = get(env, 'SLURM_STEP_TASKS_PER_NODE') !== undefined ? 'SLURM_STEP_TASKS_PER_NODE' : 'SLURM_TASKS_PER_NODE';
  const raw = get(env, name);
  if (raw === undefined) return ['SLURM_NTASKS', worldSize];
  const counts: number[] = [];
  for (const part of raw.split(',')) {
    const m = /^(\d{1,7})(?:\(x(\d{1,7})\))?$/.exec(part);
    const count = m ? Number(m[1]) : 0;
    const repeat = m?.[2] === undefined ? 1 : Number(m[2]);
    if (count < 1 || repeat < 1 || counts.length + repeat > MAX_RANKS) {
      throw invalid(name, "a list of task counts such as '2(x3),1'", raw);
    }
    for (let i = 0; i < repeat; i++) counts.push(count);
  }
  const perNode = `tasks on this node (${name})`;
  if (counts.every((c) => c === counts[0])) return [perNode, counts[0]!];
  const node = readIndex(env, 'SLURM_NODEID', `nodes in ${name}`, counts.length);
  return [perNode, counts[node]!];
}

function readMaster(env: Env, required: boolean, hint: string): Pick<LaunchEnv, 'masterAddr' | 'masterPort'> {
  const out: Pick<LaunchEnv, 'masterAddr' | 'masterPort'> = {};
  const addr = get(env, 'MASTER_ADDR');
  const port = get(env, 'MASTER_PORT');
  const how = hint === '' ? '' : ` (${hint})`;
  if (addr !== undefined || required) {
    if (addr === undefined || /\s/.test(addr)) {
      throw invalid('MASTER_ADDR', `rank 0's host name or IP address${addr === undefined ? how : ''}`, addr);
    }
    out.masterAddr = addr;
  }
  if (port !== undefined || required) {
    const expected = `an integer in [1, 65535]${port === undefined ? how : ''}`;
    out.masterPort = readInt(env, 'MASTER_PORT', 1, 65535, expected);
  }
  return out;
}

// The number of processes, at least 1.
function readCount(env: Env, name: string): number {
  return readInt(env, name, 1, MAX_RANKS, 'an integer >= 1');
}

// A per-machine count, between 1 and the world size.
function readLocalCount(env: Env, name: string, totalName: string, total: number): number {
  return readInt(env, name, 1, total, `an integer in [1, ${totalName}=${total}]`);
}

// An index in [0, size).
function readIndex(env: Env, name: string, sizeName: string, size: number): number {
  return readInt(env, name, 0, size - 1, `an integer in [0, ${sizeName}=${size})`);
}

function readInt(env: Env, name: string, lo: number, hi: number, expected: string): number {
  const raw = get(env, name);
  const value = raw !== undefined && /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= lo && value <= hi)) throw invalid(name, expected, raw);
  return value;
}

// An empty variable counts as unset: shells and YAML produce them for "no value".
function get(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw === '' ? undefined : raw;
}

function invalid(name: string, expected: string, raw: string | undefined): RangeError {
  return rangeError('distributed', name, expected, raw === undefined ? 'unset' : `'${raw}'`);
}
