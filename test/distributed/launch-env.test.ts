import { describe, expect, it } from 'vitest';
import { readLaunchEnv } from '../../src/distributed/launch-env.js';

const master = { MASTER_ADDR: 'node0.cluster', MASTER_PORT: '29500' };
const torchrun = { RANK: '5', WORLD_SIZE: '8', LOCAL_RANK: '1', LOCAL_WORLD_SIZE: '4', ...master };
const slurm = { SLURM_PROCID: '6', SLURM_NTASKS: '8', SLURM_LOCALID: '2', SLURM_STEP_TASKS_PER_NODE: '4(x2)', ...master };
const mpirun = {
  OMPI_COMM_WORLD_RANK: '3',
  OMPI_COMM_WORLD_SIZE: '4',
  OMPI_COMM_WORLD_LOCAL_RANK: '1',
  OMPI_COMM_WORLD_LOCAL_SIZE: '2',
};

describe("readLaunchEnv('nccl')", () => {
  it('reads torchrun variables', () => {
    expect(readLaunchEnv('nccl', torchrun)).toEqual({
      rank: 5, worldSize: 8, localRank: 1, localWorldSize: 4, masterAddr: 'node0.cluster', masterPort: 29500, source: 'torchrun',
    });
  });

  it('takes every rank to share one machine when LOCAL_WORLD_SIZE is unset', () => {
    const { LOCAL_WORLD_SIZE: _, ...env } = torchrun;
    expect(readLaunchEnv('nccl', { ...env, LOCAL_RANK: '6' })).toMatchObject({ localRank: 6, localWorldSize: 8 });
    expect(() => readLaunchEnv('nccl', { ...env, LOCAL_RANK: '8' })).toThrow("LOCAL_RANK must be an integer in [0, WORLD_SIZE=8), got '8'");
  });

  it('prefers torchrun over Slurm and Open MPI when several are set', () => {
    expect(readLaunchEnv('nccl', { ...mpirun, ...slurm, ...torchrun }).source).toBe('torchrun');
    expect(readLaunchEnv('nccl', { ...mpirun, ...slurm }).source).toBe('slurm');
  });

  it('falls back to Slurm, reading tasks per node from the compressed list', () => {
    expect(readLaunchEnv('nccl', slurm)).toEqual({
      rank: 6, worldSize: 8, localRank: 2, localWorldSize: 4, masterAddr: 'node0.cluster', masterPort: 29500, source: 'slurm',
    });
    // uneven nodes: 3 tasks on nodes 0 and 1, 2 on node 2; this is node 2
    const uneven = { ...slurm, SLURM_NTASKS: '8', SLURM_STEP_TASKS_PER_NODE: '3(x2),2', SLURM_NODEID: '2', SLURM_LOCALID: '1' };
    expect(readLaunchEnv('nccl', uneven).localWorldSize).toBe(2);
    // without a list every task is taken to share one node
    const { SLURM_STEP_TASKS_PER_NODE: _, ...bare } = slurm;
    expect(readLaunchEnv('nccl', bare).localWorldSize).toBe(8);
  });

  it('falls back to Open MPI', () => {
    expect(readLaunchEnv('nccl', { ...mpirun, ...master })).toEqual({
      rank: 3, worldSize: 4, localRank: 1, localWorldSize: 2, masterAddr: 'node0.cluster', masterPort: 29500, source: 'mpirun',
    });
  });

  it('does not need MASTER_ADDR or MASTER_PORT for a single process', () => {
    const env = { RANK: '0', WORLD_SIZE: '1', LOCAL_RANK: '0' };
    expect(readLaunchEnv('nccl', env)).toEqual({ rank: 0, worldSize: 1, localRank: 0, localWorldSize: 1, source: 'torchrun' });
  });

  it('names the launchers when none is found', () => {
    expect(() => readLaunchEnv('nccl', {})).toThrow(
      "toroid.distributed: distributed 'nccl' needs a launcher, but neither RANK (torchrun), SLURM_PROCID (srun) nor OMPI_COMM_WORLD_RANK (mpirun) is set",
    );
    // an empty variable counts as unset
    expect(() => readLaunchEnv('nccl', { RANK: '' })).toThrow('needs a launcher');
  });

  it('rejects each missing or invalid variable by name, with what it was', () => {
    const cases: [Record<string, string>, string][] = [
      [{ ...torchrun, RANK: '8' }, "toroid.distributed: RANK must be an integer in [0, WORLD_SIZE=8), got '8'"],
      [{ ...torchrun, RANK: '-1' }, "RANK must be an integer in [0, WORLD_SIZE=8), got '-1'"],
      [{ ...torchrun, RANK: '1.5' }, "RANK must be an integer in [0, WORLD_SIZE=8), got '1.5'"],
      [{ ...torchrun, WORLD_SIZE: '0' }, "toroid.distributed: WORLD_SIZE must be an integer >= 1, got '0'"],
      [{ ...torchrun, WORLD_SIZE: 'four' }, "WORLD_SIZE must be an integer >= 1, got 'four'"],
      [{ ...torchrun, WORLD_SIZE: '' }, 'WORLD_SIZE must be an integer >= 1, got unset'],
      [{ ...torchrun, LOCAL_RANK: '4' }, "LOCAL_RANK must be an integer in [0, LOCAL_WORLD_SIZE=4), got '4'"],
      [{ ...torchrun, LOCAL_WORLD_SIZE: '9' }, "LOCAL_WORLD_SIZE must be an integer in [1, WORLD_SIZE=8], got '9'"],
      [{ ...torchrun, MASTER_PORT: '0' }, "toroid.distributed: MASTER_PORT must be an integer in [1, 65535], got '0'"],
      [{ ...torchrun, MASTER_PORT: '65536' }, "MASTER_PORT must be an integer in [1, 65535], got '65536'"],
      [{ ...torchrun, MASTER_PORT: '29500x' }, "MASTER_PORT must be an integer in [1, 65535], got '29500x'"],
      [{ ...torchrun, MASTER_ADDR: 'node0 node1' }, "MASTER_ADDR must be rank 0's host name or IP address, got 'node0 node1'"],
      [{ ...slurm, SLURM_PROCID: '9' }, "SLURM_PROCID must be an integer in [0, SLURM_NTASKS=8), got '9'"],
      [{ ...slurm, SLURM_LOCALID: '4' }, "SLURM_LOCALID must be an integer in [0, tasks on this node (SLURM_STEP_TASKS_PER_NODE)=4), got '4'"],
      [{ ...slurm, SLURM_STEP_TASKS_PER_NODE: '4(2)' }, "SLURM_STEP_TASKS_PER_NODE must be a list of task counts such as '2(x3),1', got '4(2)'"],
      [{ ...slurm, SLURM_STEP_TASKS_PER_NODE: '3(x2),2' }, 'SLURM_NODEID must be an integer in [0, nodes in SLURM_STEP_TASKS_PER_NODE=3), got unset'],
      [{ ...mpirun, ...master, OMPI_COMM_WORLD_LOCAL_SIZE: '' }, 'OMPI_COMM_WORLD_LOCAL_SIZE must be an integer in [1, OMPI_COMM_WORLD_SIZE=4], got unset'],
    ];
    for (const [env, message] of cases) expect(() => readLaunchEnv('nccl', env), message).toThrow(message);
    expect(() => readLaunchEnv('nccl', { ...torchrun, RANK: '8' })).toThrow(RangeError);
  });

  it('requires MASTER_ADDR and MASTER_PORT with more than one process, with a hint per launcher', () => {
    const { MASTER_ADDR: _a, ...noAddr } = torchrun;
    expect(() => readLaunchEnv('nccl', noAddr)).toThrow("toroid.distributed: MASTER_ADDR must be rank 0's host name or IP address, got unset");
    const { MASTER_PORT: _p, ...noPort } = slurm;
    expect(() => readLaunchEnv('nccl', noPort)).toThrow(/^toroid\.distributed: MASTER_PORT must be an integer in \[1, 65535\] \(Slurm does not set it; .*scontrol show hostnames.*\), got unset$/);
    expect(() => readLaunchEnv('nccl', mpirun)).toThrow(/MASTER_ADDR must be .*\(mpirun does not set it: mpirun -x MASTER_ADDR=.*\), got unset/);
  });
});

describe("readLaunchEnv('mpi')", () => {
  it('reads Open MPI variables and passes MASTER_* through when present', () => {
    expect(readLaunchEnv('mpi', mpirun)).toEqual({ rank: 3, worldSize: 4, localRank: 1, localWorldSize: 2, source: 'mpirun' });
    expect(readLaunchEnv('mpi', { ...mpirun, ...master })).toMatchObject({ masterAddr: 'node0.cluster', masterPort: 29500 });
  });

  it('ignores torchrun and Slurm variables', () => {
    expect(readLaunchEnv('mpi', { ...torchrun, ...mpirun }).rank).toBe(3);
  });

  it('explains that the process must be started by mpirun', () => {
    expect(() => readLaunchEnv('mpi', torchrun)).toThrow(
      "toroid.distributed: distributed 'mpi' needs the process to be started by mpirun (OMPI_COMM_WORLD_RANK is not set): mpirun -np 2 node train.mjs",
    );
  });

  it('rejects invalid Open MPI values', () => {
    expect(() => readLaunchEnv('mpi', { ...mpirun, OMPI_COMM_WORLD_RANK: '4' })).toThrow(
      "toroid.distributed: OMPI_COMM_WORLD_RANK must be an integer in [0, OMPI_COMM_WORLD_SIZE=4), got '4'",
    );
    expect(() => readLaunchEnv('mpi', { ...mpirun, OMPI_COMM_WORLD_LOCAL_RANK: '2' })).toThrow(
      "OMPI_COMM_WORLD_LOCAL_RANK must be an integer in [0, OMPI_COMM_WORLD_LOCAL_SIZE=2), got '2'",
    );
    expect(() => readLaunchEnv('mpi', { ...mpirun, MASTER_PORT: '70000' })).toThrow("MASTER_PORT must be an integer in [1, 65535], got '70000'");
  });
});

describe('readLaunchEnv engine', () => {
  it('rejects an unknown engine', () => {
    expect(() => readLaunchEnv('gloo' as 'mpi', torchrun)).toThrow(`toroid.distributed: engine must be 'mpi' or 'nccl', got "gloo"`);
  });

  it('reads process.env by default', () => {
    const saved = { ...process.env };
    try {
      for (const k of Object.keys(process.env)) if (/^(RANK|SLURM_|OMPI_)/.test(k)) delete process.env[k];
      Object.assign(process.env, { ...torchrun, RANK: '2' });
      expect(readLaunchEnv('nccl').rank).toBe(2);
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });
});
