/** Real MQTT brokers for tests: Debian's mosquitto as a child process, restartable on the same port. */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { userInfo } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort, tempDir } from './helpers.ts'

export const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p))

export interface Mosquitto {
  url: string
  port: number
  /** stops it (SIGTERM: it saves its persistence file) */
  stop(): Promise<void>
  /** stops and starts it again on the same port, with its persisted sessions and retained messages */
  restart(downMs?: number): Promise<void>
}

async function waitForPort(port: number, deadlineMs = 10_000): Promise<void> {
  const end = Date.now() + deadlineMs
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.destroy()
        resolve(true)
      })
      s.on('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > end) throw new Error(`mosquitto did not listen on ${port}`)
    await sleep(25)
  }
}

export interface MosquittoOptions {
  /** serve MQTT over TLS (`mqtts://`) with these PEM files */
  tls?: { cert: string; key: string }
  /** require these users (name → password); anonymous clients are refused */
  users?: Record<string, string>
}

/** Writes a mosquitto password file for `users` with Debian's mosquitto_passwd. */
async function passwordFile(dir: string, users: Record<string, string>): Promise<string> {
  const file = join(dir, 'passwd')
  await writeFile(file, '', { mode: 0o600 })
  for (const [user, password] of Object.entries(users)) {
    const done = spawnSync('mosquitto_passwd', ['-b', file, user, password], { encoding: 'utf8' })
    if (done.status !== 0) throw new Error(`mosquitto_passwd failed: ${done.stderr || done.error?.message}`)
  }
  return file
}

/**
 * Starts mosquitto on 127.0.0.1 with persistence in `dir` and TCP_NODELAY on (as the README tells users);
 * with `options`, over TLS and with passwords.
 */
export async function startMosquitto(dir: string, options: MosquittoOptions = {}): Promise<Mosquitto> {
  if (MOSQUITTO == null) throw new Error('mosquitto is not installed (apt-get install mosquitto)')
  const port = await freePort()
  const conf = join(dir, 'mosquitto.conf')
  const users = options.users != null ? await passwordFile(dir, options.users) : undefined
  await writeFile(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      ...(options.tls != null ? [`certfile ${options.tls.cert}`, `keyfile ${options.tls.key}`] : []),
      ...(users != null ? ['allow_anonymous false', `password_file ${users}`] : ['allow_anonymous true']),
      'set_tcp_nodelay true',
      'persistence true',
      `persistence_location ${dir}/`,
      // started as root, mosquitto drops to the `mosquitto` user, which cannot write its persistence file in
      // our temp dir: it would come back from a restart without sessions or retained messages
      `user ${userInfo().username}`,
      'max_queued_messages 10000',
      'log_type error',
      '',
    ].join('\n'),
  )
  let child: ChildProcess | undefined
  const launch = async () => {
    child = spawn(MOSQUITTO, ['-c', conf], { stdio: 'ignore' })
    await waitForPort(port)
  }
  const stop = async () => {
    const c = child
    child = undefined
    if (c == null || c.exitCode != null) return
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()))
    c.kill('SIGTERM')
    await exited
  }
  await launch()
  return {
    url: `${options.tls != null ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
    port,
    stop,
    async restart(downMs = 200) {
      await stop()
      await sleep(downMs)
      await launch()
    },
  }
}

/**
 * Starts mosquitto with persistence in a fresh temp dir, pushing onto `cleanups` the dir's removal, then the
 * broker's stop (so a reversed run stops the broker before its dir goes).
 *
 * @example
 * const broker = await tempMosquitto(cleanups)
 * const n = await node([`mqtt: { broker: '${broker.url}' }`])
 */
export async function tempMosquitto(cleanups: {
  push(cleanup: () => Promise<void>): unknown
}): Promise<Mosquitto> {
  const { dir, cleanup } = await tempDir()
  cleanups.push(cleanup)
  const broker = await startMosquitto(dir)
  cleanups.push(() => broker.stop())
  return broker
}
