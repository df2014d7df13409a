/**
 * Setup file of the `unit` lane (vitest.config.ts): the lane promises no sockets and no processes, so it
 * stays fast and cannot flake on a busy port or a missing tool. A test that opens a socket, listens, binds
 * a datagram socket or starts a child process fails here with a named error, instead of quietly making the
 * inner loop slow; such a test belongs in test/integration/ or test/e2e/.
 */
import childProcess from 'node:child_process'
import dgram from 'node:dgram'
import { syncBuiltinESMExports } from 'node:module'
import net from 'node:net'

/** Thrown when a unit test reaches for the network or a process. */
export class UnitLaneIoError extends Error {
  constructor(what: string) {
    super(
      `${what} in the unit lane: move this test to test/integration/ (unit tests open no sockets and start no processes)`,
    )
    this.name = 'UnitLaneIoError'
  }
}

function forbid(what: string): () => never {
  return () => {
    throw new UnitLaneIoError(what)
  }
}

// prototypes catch every caller, fetch's sockets and execFile's processes included
net.Socket.prototype.connect = forbid('a socket connect')
net.Server.prototype.listen = forbid('a server listen')
dgram.Socket.prototype.bind = forbid('a datagram socket bind')
// spawn is internal to ChildProcess (not in its types), and every async spawn, exec and fork goes through it
;(childProcess.ChildProcess.prototype as unknown as { spawn: unknown }).spawn = forbid('a child process')
// the synchronous spawns do not go through ChildProcess; the named ESM exports are synced to the patch
childProcess.spawnSync = forbid('a child process')
childProcess.execSync = forbid('a child process')
childProcess.execFileSync = forbid('a child process')
syncBuiltinESMExports()
