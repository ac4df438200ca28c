'use strict';
// The task's entry point for every Node handler an agent may have (Node10, Node16, Node20_1,
// Node24): so it uses only what Node 10 runs, ECMAScript 2018 and Node 10's APIs (the tests parse
// it as ES2018 and run it under Node 10, 16, 20 and 24).
// It finds a Python, puts the task's bundled packages on its path, runs `python -m runner` with the
// agent's environment and stdio, passes cancellation signals on, and exits with Python's exit code.
// No azure-pipelines-task-lib here: importing it deletes INPUT_* and ENDPOINT_* from process.env,
// and the Python child needs them.

const childProcess = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const { bundledText, chooseBundle, isAtLeast, versionText } = require('./bundles');

const TASK_DIR = path.resolve(__dirname, '..');
const PYTHON_DIR = path.join(TASK_DIR, 'python');
const LIB_DIR = path.join(PYTHON_DIR, 'lib');
const MIN_PYTHON = [3, 9, 2];
const STARTUP_MODULES = path.join(PYTHON_DIR, 'startup-modules.txt');
const MAX_PRECOMPILERS = 3;
const PROBE_TIMEOUT_MS = 30000;

// Prints what the launcher needs to know about an interpreter as one JSON line. Python 2 syntax
// too, so that an old `python` is reported as too old rather than as broken. It runs before every
// task, so it imports neither json nor platform (with the `re` they load, half its time): the
// line is written by hand, ASCII only as json.dumps writes it.
const PROBE = [
  'import os, sys, sysconfig',
  'def q(text):',
  '    out = []',
  '    for c in text:',
  '        o = ord(c)',
  '        if c in "\\"\\\\":',
  '            out.append("\\\\" + c)',
  '        elif 32 <= o < 127:',
  '            out.append(c)',
  '        elif o < 0x10000:',
  '            out.append("\\\\u%04x" % o)',
  '        else:',
  '            o -= 0x10000',
  '            out.append("\\\\u%04x\\\\u%04x" % (0xd800 + (o >> 10), 0xdc00 + (o & 0x3ff)))',
  '    return "\\"" + "".join(out) + "\\""',
  'try:',
  '    libc = os.confstr("CS_GNU_LIBC_VERSION") or ""',
  'except (AttributeError, ValueError, OSError):',
  '    libc = ""',
  'if sys.platform == "win32":',
  '    env = os.environ',
  '    machine = env.get("PROCESSOR_ARCHITEW6432") or env.get("PROCESSOR_ARCHITECTURE", "")',
  'else:',
  '    machine = os.uname()[4]',
  'macos = ""',
  'if sys.platform == "darwin":',
  '    import platform',
  '    macos = platform.mac_ver()[0]',
  'impl = getattr(sys, "implementation", None)',
  'v = sys.version_info',
  'print("{\\"version\\": [%d, %d, %d], \\"implementation\\": %s, \\"platform\\": %s, "',
  '      "\\"libc\\": %s, \\"executable\\": %s, \\"machine\\": %s, \\"macos\\": %s}" % (',
  '      v[0], v[1], v[2], q(impl.name if impl else "cpython"), q(sysconfig.get_platform()),',
  '      q(libc), q(sys.executable), q(machine), q(macos)))',
].join('\n');

const task = JSON.parse(fs.readFileSync(path.join(TASK_DIR, 'task.json'), 'utf8'));

function message(key, ...args) {
  let i = 0;
  return task.messages[key].replace(/%s/g, () => String(args[i++]));
}

// Logging-command escaping as the agent decodes it: `%` first (as %AZP25), then CR and LF;
// property values also `]` and `;`.
function escapeData(text) {
  return text.replace(/%/g, '%AZP25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function escapeProperty(text) {
  return escapeData(text).replace(/]/g, '%5D').replace(/;/g, '%3B');
}

function command(name, properties, data) {
  const props = Object.entries(properties)
    .map(([key, value]) => `${key}=${escapeProperty(value)};`)
    .join('');
  return `##vso[${name} ${props}]${escapeData(data)}`;
}

// What the user must fix before the task can start; main() reports it and fails the step.
class TaskFailure extends Error {}

function fail(text) {
  throw new TaskFailure(text);
}

function debug(text) {
  if ((process.env.SYSTEM_DEBUG || '').toLowerCase() === 'true') {
    console.log(`##[debug]${text}`);
  }
}

// Runs the probe with `command` (e.g. ['py', '-3']); returns its facts, or a reason it is unusable.
function probe(commandLine) {
  const [file, ...args] = commandLine;
  const run = childProcess.spawnSync(file, [...args, '-E', '-S', '-c', PROBE], {
    encoding: 'utf8',
    timeout: PROBE_TIMEOUT_MS,
    windowsHide: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (run.error) {
    return { reason: run.error.code === 'ENOENT' ? 'not found' : run.error.message };
  }
  if (run.status !== 0) {
    const said = (run.stderr || '').trim().split(/\r?\n/).pop() || '';
    return { reason: `exit code ${run.status}${said ? `: ${said}` : ''}` };
  }
  let facts;
  try {
    facts = JSON.parse(run.stdout.trim().split(/\r?\n/).pop());
  } catch (err) {
    return { reason: `unexpected output: ${run.stdout.trim().slice(0, 200)}` };
  }
  if (!isAtLeast(facts.version, MIN_PYTHON)) {
    return { reason: `Python ${versionText(facts.version)} is older than ${versionText(MIN_PYTHON)}` };
  }
  return { facts };
}

// fs.rmSync and the recursive fs.rmdirSync came after Node 10.
function removeTree(target) {
  let stat;
  try {
    stat = fs.lstatSync(target);
  } catch (err) {
    return;
  }
  if (stat.isDirectory()) {
    for (const name of fs.readdirSync(target)) {
      removeTree(path.join(target, name));
    }
    fs.rmdirSync(target);
  } else {
    fs.unlinkSync(target);
  }
}

function findPython() {
  const configured = (process.env.INPUT_PYTHONINTERPRETER || '').trim();
  if (configured) {
    const found = probe([configured]);
    if (!found.facts) {
      fail(message('PythonInterpreterUnusable', configured, found.reason));
    }
    return { ...found.facts, source: 'pythonInterpreter input' };
  }
  const candidates = [['python3'], ['python']];
  if (process.platform === 'win32') {
    candidates.push(['py', '-3']);
  }
  const tried = [];
  for (const candidate of candidates) {
    const found = probe(candidate);
    const name = candidate.join(' ');
    if (found.facts) {
      return { ...found.facts, source: `'${name}' on PATH` };
    }
    debug(`Python candidate '${name}': ${found.reason}`);
    tried.push(`${name}: ${found.reason}`);
  }
  return fail(message('PythonNotFound', tried.join('; ')));
}

// The platforms of self-hosted agents (Linux arm64, macOS) ship their own folders packed in one
// xz archive, to fit the extension's size budget. The first job on such an agent has its Python
// unpack them into the task folder (runner/unpack_packages.py), which the agent keeps between
// jobs. Returns null when every folder is in place, else why they could not be unpacked.
function unpackBundle(python, bundle) {
  const missing = bundle.folders.filter((folder) => !fs.existsSync(path.join(LIB_DIR, folder)));
  if (missing.length === 0) {
    return null;
  }
  const started = Date.now();
  const archive = path.join(LIB_DIR, bundle.packed);
  const run = childProcess.spawnSync(
    python.executable,
    ['-S', '-m', 'runner.unpack_packages', archive, LIB_DIR, ...missing],
    {
      encoding: 'utf8',
      env: Object.assign({}, process.env, { PYTHONPATH: PYTHON_DIR }),
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
    },
  );
  if (run.error) {
    return run.error.message;
  }
  if (run.status !== 0) {
    return (run.stderr || '').trim().split(/\r?\n/).pop() || `exit code ${run.status}`;
  }
  console.log(message('UnpackedPackages', bundle.platform, ((Date.now() - started) / 1000).toFixed(2)));
  return null;
}

// The folders of bundled packages for this interpreter, or null when the task has none for it.
function bundledPath(python, index) {
  const bundle = chooseBundle(python, index);
  if (!bundle) {
    return null;
  }
  const unpackFailure = bundle.packed && unpackBundle(python, bundle);
  if (unpackFailure) {
    return installedPath(python, index, (target) =>
      message('UnpackFailed', bundle.platform, unpackFailure, target));
  }
  return bundle.folders.map((folder) => path.join(LIB_DIR, folder));
}

// Elsewhere (musl, Windows on Arm, another Python: nothing the task was built for), or where a
// packed bundle cannot be unpacked, pip installs the requirements once into a cache kept by the
// agent between jobs, keyed by task version, platform and Python version; `announcement(target)`
// says why in the log. An agent that cannot reach a package index fails here, and says so.
function installedPath(python, index, announcement) {
  const root = process.env.AGENT_TOOLSDIRECTORY || process.env.AGENT_TEMPDIRECTORY || os.tmpdir();
  const { Major, Minor, Patch } = task.version;
  const key = `${python.implementation}${python.version[0]}${python.version[1]}-${python.platform}`;
  const target = path.join(root, 'SwapSlotsTask', `${Major}.${Minor}.${Patch}`, key);
  const marker = path.join(target, '.complete');
  if (fs.existsSync(marker)) {
    debug(`Using the Python packages installed earlier in ${target}`);
    return [target];
  }
  console.log(announcement(target));
  const staging = `${target}.${process.pid}.tmp`;
  const pip = childProcess.spawnSync(
    python.executable,
    [
      '-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--only-binary=:all:',
      '--target', staging, '-r', path.join(PYTHON_DIR, 'requirements.txt'),
    ],
    { stdio: ['ignore', 'inherit', 'inherit'], env: pipEnvironment(), windowsHide: true },
  );
  if (pip.status !== 0) {
    removeTree(staging);
    const code = pip.status === null ? pip.signal : pip.status;
    fail(message('DependencyInstallFailed', code, bundledText(index)));
  }
  fs.writeFileSync(path.join(staging, '.complete'), '');
  try {
    fs.renameSync(staging, target);
  } catch (err) {
    // Another job on this machine finished the same install first; use its copy.
    removeTree(staging);
    if (!fs.existsSync(marker)) {
      throw err;
    }
  }
  return [target];
}

// An agent variable as task-lib reads it: a secret one arrives as SECRET_<NAME>.
function agentVariable(name) {
  return (process.env[`SECRET_${name}`] || process.env[name] || '').trim();
}

// pip goes out the way the runner's own calls do: through the agent's proxy (Agent.ProxyUrl and
// its credentials; its bypass list is regular expressions, which pip cannot take) and trusting
// the agent's CA bundle (Agent.CAInfo). Through the environment, so no secret is on a command line.
function pipEnvironment() {
  const env = Object.assign({}, process.env);
  const proxy = agentVariable('AGENT_PROXYURL');
  if (proxy) {
    const url = new URL(proxy);
    const username = agentVariable('AGENT_PROXYUSERNAME');
    if (username) {
      url.username = username;
      url.password = agentVariable('AGENT_PROXYPASSWORD');
    }
    env.HTTPS_PROXY = url.href;
    env.HTTP_PROXY = url.href;
  }
  const caInfo = agentVariable('AGENT_CAINFO');
  if (caInfo) {
    env.PIP_CERT = caInfo;
  }
  return env;
}

// A freshly unpacked task has no bytecode: Python compiles each module before running it. The
// task's start-up modules are compiled on the spare cores meanwhile (runner/precompile.py), so
// the task finds most of its bytecode ready. Best effort: they are stopped when the task ends.
function startPrecompilers(python, env) {
  const stripes = Math.min(os.cpus().length - 1, MAX_PRECOMPILERS);
  if (stripes < 1 || !fs.existsSync(STARTUP_MODULES)) {
    return [];
  }
  const started = [];
  for (let stripe = 0; stripe < stripes; stripe++) {
    const args = ['-S', '-m', 'runner.precompile', STARTUP_MODULES, String(stripe), String(stripes)];
    const child = childProcess.spawn(python.executable, args, { stdio: 'ignore', env, windowsHide: true });
    child.on('error', () => {});
    started.push(child);
  }
  return started;
}

function runRunner(python, libraryPath) {
  const env = Object.assign({}, process.env, {
    PYTHONPATH: [PYTHON_DIR].concat(libraryPath).join(path.delimiter),
    PYTHONUNBUFFERED: '1',
    PYTHONIOENCODING: 'utf-8',
  });
  // -S: no site-packages, so packages installed on the agent cannot shadow the bundled ones.
  const child = childProcess.spawn(python.executable, ['-S', '-m', 'runner'], {
    stdio: 'inherit',
    env,
    windowsHide: true,
  });
  const precompilers = startPrecompilers(python, env);
  // The agent cancels with SIGINT, then SIGTERM 7.5 s later, to this process only. On Windows the
  // console's Ctrl+C reaches Python directly, and kill() would end it at once, so only log there.
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      console.log(message('RunnerSignal', signal, child.pid));
      if (process.platform !== 'win32') {
        child.kill(signal);
      }
    });
  }
  child.on('error', (err) => report(new TaskFailure(`Could not start ${python.executable}: ${err.message}`)));
  // exitCode rather than exit(): Node then ends only once stdout is flushed (pipes are
  // asynchronous on macOS).
  child.on('exit', (code, signal) => {
    precompilers.forEach((precompiler) => precompiler.kill());
    if (signal) {
      console.log(message('RunnerKilled', signal));
      process.exitCode = 128 + (os.constants.signals[signal] || 0);
    } else {
      process.exitCode = code;
    }
  });
}

function report(err) {
  if (!(err instanceof TaskFailure)) {
    throw err;
  }
  console.log(command('task.logissue', { type: 'error' }, err.message));
  console.log(command('task.complete', { result: 'Failed' }, err.message));
  process.exitCode = 1;
}

function main() {
  debug(`Node ${process.version} on ${process.platform}-${process.arch}`);
  const python = findPython();
  console.log(message('UsingPython', versionText(python.version), python.executable, python.source));
  const index = JSON.parse(fs.readFileSync(path.join(LIB_DIR, 'index.json'), 'utf8'));
  const agent = python.libc ? `${python.platform} ${python.libc}` : python.platform;
  const libraryPath = bundledPath(python, index) || installedPath(python, index, (target) =>
    message('InstallingDependencies', bundledText(index), agent, versionText(python.version), target));
  debug(`PYTHONPATH entries: ${[PYTHON_DIR, ...libraryPath].join(path.delimiter)}`);
  runRunner(python, libraryPath);
}

try {
  main();
} catch (err) {
  report(err);
}
