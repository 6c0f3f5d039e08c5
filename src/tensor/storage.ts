// Storage is owned by its backend and shared by views (reshape, saved-for-backward
// aliases) through a reference count; the last release frees it at once.
import type { Backend } from '../backends/backend.js';

export interface MemoryInfo {
  /** Storages not yet released. */
  liveStorages: number;
  /** Bytes held by live storages. */
  liveBytes: number;
}

const stats: MemoryInfo = { liveStorages: 0, liveBytes: 0 };

export class Storage {
  private refs = 1;
  constructor(readonly backend: Backend, public data: unknown, readonly bytes: number) {
    stats.liveStorages++;
    stats.liveBytes += bytes;
  }

  get released(): boolean {
    return this.refs === 0;
  }

  retain(): this {
    this.refs++;
    return this;
  }

  release(): void {
    if (this.refs === 0) return;
    if (--this.refs === 0) {
      stats.liveStorages--;
      stats.liveBytes -= this.bytes;
      this.backend.free(this.data);
      this.data = undefined;
    }
  }
}

export function memory(): MemoryInfo {
  return { ...stats };
}
