/**
 * Headless Chromium for tests that open a generated page: Debian's `chromium` (.ci/run installs it), or
 * $PMGRANTS_CHROMIUM. Every request the browser makes goes through a local recording proxy, so a test
 * can assert that a page made none.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export function chromiumPath(): string | undefined {
  return [process.env.PMGRANTS_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p): p is string => !!p && fs.existsSync(p));
}

export function chromiumUnavailableReason(): string | undefined {
  return chromiumPath() ? undefined : 'no headless Chromium (install the Debian package chromium, or set PMGRANTS_CHROMIUM)';
}

/**
 * Chromium's own background services (time, component updates, accounts) still call home with every
 * flag below set; a page cannot address these hosts without also being seen doing so elsewhere, so
 * they are left out of what a page is said to request.
 */
const BROWSER_SERVICE = /^(CONNECT |[A-Z]+ https?:\/\/)([a-z0-9-]+\.)*(google\.com|googleapis\.com|gstatic\.com|gvt1\.com)(:\d+)?(\/|$)/;

export interface RecordingProxy {
  port: number;
  /** Every request that reached the proxy, but the browser's own services: "GET http://host/path" or "CONNECT host:443". */
  requests: string[];
  close(): Promise<void>;
}

/** An HTTP proxy that answers every request with 404 (and refuses CONNECT) and remembers it. */
export async function recordingProxy(): Promise<RecordingProxy> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const line = `${req.method} ${req.url}`;
    if (!BROWSER_SERVICE.test(line)) requests.push(line);
    res.writeHead(404).end();
  });
  server.on('connect', (req: http.IncomingMessage, socket: net.Socket) => {
    const line = `CONNECT ${req.url}`;
    if (!BROWSER_SERVICE.test(line)) requests.push(line);
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Run headless Chromium with every request sent through `proxyPort`; resolves with its stdout. */
export function runChromium(args: string[], proxyPort: number, timeoutMs = 60_000): Promise<string> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'pmgrants-chromium-'));
  const all = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-default-apps',
    '--disable-extensions',
    '--disable-domain-reliability',
    '--disable-client-side-phishing-detection',
    '--no-pings',
    `--user-data-dir=${profile}`,
    `--proxy-server=http://127.0.0.1:${proxyPort}`,
    '--proxy-bypass-list=<-loopback>',
    ...args,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(chromiumPath()!, all, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      fs.rmSync(profile, { recursive: true, force: true });
      if (code === 0) resolve(out);
      else reject(new Error(`chromium exited with ${code}: ${err.split('\n').slice(-5).join('\n')}`));
    });
  });
}
