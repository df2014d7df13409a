/** Real MQTT brokers for tests: Debian's mosquitto as a child process, restartable on the same port. */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { userInfo } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from './helpers.ts'

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

/** Starts mosquitto on 127.0.0.1 with persistence in `dir` and TCP_NODELAY on (as the README tells users). */
export async function startMosquitto(dir: string): Promise<Mosquitto> {
  if (MOSQUITTO == null) throw new Error('mosquitto is not installed (apt-get install mosquitto)')
  const port = await freePort()
  const conf = join(dir, 'mosquitto.conf')
  await writeFile(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
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
    url: `mqtt://127.0.0.1:${port}`,
    port,
    stop,
    async restart(downMs = 200) {
      await stop()
      await sleep(downMs)
      await launch()
    },
  }
}
