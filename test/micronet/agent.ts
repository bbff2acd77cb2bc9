// The test side of udp-agent.ts: starts one agent in a node's namespace (tracked by the net,
// so destroy() ends it) and drives it. Every wait is bounded.
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Host, Micronet } from './micronet.js';

const AGENT_JS = fileURLToPath(new URL('./udp-agent.js', import.meta.url));

export interface Datagram {
  /** The agent's local port it arrived on. */
  port: number;
  /** The sender, as seen by the agent: "IP:PORT". */
  from: string;
  data: string;
}

interface Answer { id: number; ok: boolean; error?: string; [k: string]: unknown }

export class UdpAgent {
  readonly received: Datagram[] = [];
  private nextId = 1;
  private readonly answers = new Map<number, (a: Answer) => void>();
  private readonly waiters = new Set<() => void>();
  private stderr = '';

  private constructor(readonly host: Host, private readonly child: ChildProcess) {}

  /** Starts an agent inside `host`'s namespace; resolves when it says it is ready. */
  static async start(net: Micronet, host: Host, timeoutMs = 5000): Promise<UdpAgent> {
    const child = net.spawn(host, process.execPath, [AGENT_JS]);
    const agent = new UdpAgent(host, child);
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { if (agent.stderr.length < 10_000) agent.stderr += d; });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`udp agent in ${host.ns} not ready after ${timeoutMs} ms: ${agent.stderr}`)), timeoutMs);
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`udp agent in ${host.ns} exited (${code}): ${agent.stderr}`)); });
      createInterface({ input: child.stdout! }).on('line', (line) => {
        let msg: Record<string, unknown>;
        try { msg = JSON.parse(line) as Record<string, unknown>; } catch { return; }
        if (msg.ev === 'ready') { clearTimeout(timer); resolve(); }
        else if (msg.ev === 'recv') {
          agent.received.push({ port: Number(msg.port), from: String(msg.from), data: String(msg.data) });
          for (const w of [...agent.waiters]) w();
        } else if (typeof msg.id === 'number') {
          agent.answers.get(msg.id)?.(msg as unknown as Answer);
          agent.answers.delete(msg.id);
        }
      });
    });
    return agent;
  }

  private command(cmd: Record<string, unknown>, timeoutMs = 5000): Promise<Answer> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.answers.delete(id); reject(new Error(`udp agent in ${this.host.ns}: no answer to ${JSON.stringify(cmd)}`)); }, timeoutMs);
      this.answers.set(id, (a) => {
        clearTimeout(timer);
        if (a.ok) resolve(a); else reject(new Error(`udp agent in ${this.host.ns}: ${JSON.stringify(cmd)}: ${a.error}`));
      });
      this.child.stdin!.write(JSON.stringify({ id, ...cmd }) + '\n');
    });
  }

  /** Opens a UDP socket on 0.0.0.0:port (0: any); resolves with the port. */
  async bind(port = 0): Promise<number> {
    return Number((await this.command({ op: 'bind', port })).port);
  }

  /** Opens a reflector on port: it answers DATA with "seen IP:PORT DATA". */
  async echo(port: number): Promise<number> {
    return Number((await this.command({ op: 'echo', port })).port);
  }

  async send(port: number, to: string, data: string): Promise<void> {
    await this.command({ op: 'send', port, to, data });
  }

  async close(port: number): Promise<void> {
    await this.command({ op: 'close', port });
  }

  /** A NAT-PMP UDP mapping request to the gateway (lifetime 0 removes the mapping). */
  async natpmp(gateway: string, internal: number, external: number, lifetime = 3600): Promise<{ result: number; external: number; lifetime: number }> {
    const a = await this.command({ op: 'natpmp', gateway, internal, external, lifetime }, 8000);
    return { result: Number(a.result), external: Number(a.external), lifetime: Number(a.lifetime) };
  }

  /** The first datagram (already received or arriving within timeoutMs) matching pred, or null. */
  waitFor(pred: (d: Datagram) => boolean, timeoutMs: number): Promise<Datagram | null> {
    const found = this.received.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => {
      const check = (): void => {
        const d = this.received.find(pred);
        if (d) { clearTimeout(timer); this.waiters.delete(check); resolve(d); }
      };
      const timer = setTimeout(() => { this.waiters.delete(check); resolve(null); }, timeoutMs);
      this.waiters.add(check);
    });
  }

  /**
   * Sends a probe from `port` to each reflector ("IP:PORT" of an echo()) and returns the source
   * address:port each one saw (null where no answer came within timeoutMs).
   */
  async observe(port: number, reflectors: readonly string[], timeoutMs = 2000): Promise<(string | null)[]> {
    return Promise.all(reflectors.map(async (r) => {
      const token = `probe-${Math.random().toString(36).slice(2, 10)}`;
      await this.send(port, r, token);
      const d = await this.waitFor((x) => x.port === port && x.from === r && x.data.endsWith(` ${token}`), timeoutMs);
      return d ? d.data.split(' ')[1] ?? null : null;
    }));
  }

  /** Ends the agent (it exits when its stdin closes). */
  stop(): void {
    this.child.stdin?.end();
  }
}
