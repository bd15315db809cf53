// The shipped edges for the browser tests: tests/edge/edgelib.py started as a child process,
// which prints their addresses and stops them (by PID) when its stdin closes.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

// A program on PATH (or in /usr/sbin, where Debian puts nginx, off a user's PATH): its path.
function which(name) {
  const dirs = (process.env.PATH || '').split(delimiter).concat(['/usr/sbin', '/sbin']);
  for (const d of dirs) if (d && existsSync(join(d, name))) return join(d, name);
  return null;
}

// Whether the programs `engine`'s edge needs (and `extra`: program → Debian package) are
// installed: false after saying plainly which is not (the caller skips), true if all are.
export function edgeProgramsInstalled(engine, extra = {}) {
  const engines = { nginx: { nginx: 'nginx' }, varnish: { nginx: 'nginx', varnishd: 'varnish' } };
  if (!(engine in engines)) throw new Error('engine nginx or varnish, not ' + engine);
  for (const [program, pkg] of Object.entries({ ...engines[engine], ...extra })) {
    if (!which(program)) {
      console.log(`SKIPPED: ${program} is not installed (apt-get install ${pkg} failed?)`);
      return false;
    }
  }
  return true;
}

// tests/edge/edgelib.py's command: the edges, stopped when its stdin closes (also when this
// process dies, however: the pipe closes with it) or on SIGTERM.
export function startEdges(python, origin, workdir, tiers, engine) {
  const env = { ...process.env, PATH: `${process.env.PATH || ''}${delimiter}/usr/sbin` };
  const child = spawn(python, [join(ROOT, 'tests', 'edge', 'edgelib.py'), '--origin', origin,
                               '--workdir', workdir, '--tiers', String(tiers),
                               '--engine', engine],
                      { stdio: ['pipe', 'pipe', 'pipe'], env });
  // Not common.mjs's track(): its SIGKILL at exit would leave nginx running. SIGTERM lets
  // edgelib stop its nginx processes by PID.
  const onExit = () => { if (child.exitCode === null) child.kill('SIGTERM'); };
  process.on('exit', onExit);
  let out = '', err = '';
  child.stderr.on('data', (d) => { err += d; });
  const edges = new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/^EDGES (.*)\n/m);  // the whole line
      if (m) resolve(JSON.parse(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`edgelib.py exited with ${code}:\n${out}${err}`)));
  });
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGTERM'), 10000);
      await exited;
      clearTimeout(timer);
    }
    process.off('exit', onExit);
  };
  return { child, edges, close, log: () => out + err };
}
