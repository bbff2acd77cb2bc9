// A throwaway self-signed TLS certificate for tests, made with the openssl CLI (P-256, valid
// one day) for the given names and IP addresses; the certificate is its own CA, so a client
// trusts it with `ca: cert`.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';

export interface TestCert {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

/** Writes cert.pem and key.pem into `dir` (a private directory of the caller). */
export function makeTestCert(dir: string, names: readonly string[]): TestCert {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  const san = names.map((n) => (isIP(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', `/CN=${names[0] ?? 'wirehub-test'}`, '-addext', `subjectAltName=${san}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-keyout', keyFile, '-out', certFile,
  ], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
  return { certFile, keyFile, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}
