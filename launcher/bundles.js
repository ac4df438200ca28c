'use strict';
// Which of the task's bundled package folders (python/lib/index.json) serve one interpreter.
// Plain functions of the interpreter's facts, so the tests can ask them about every platform.
// ECMAScript 2018 and Node 10's library only, as the rest of the launcher.

function versionText(version) {
  return version.join('.');
}

function isAtLeast(version, minimum) {
  for (let i = 0; i < minimum.length; i++) {
    if ((version[i] || 0) !== minimum[i]) {
      return (version[i] || 0) > minimum[i];
    }
  }
  return true;
}

function glibcVersion(libc) {
  const match = /^glibc (\d+)\.(\d+)/.exec(libc || '');
  return match ? [Number(match[1]), Number(match[2])] : null;
}

function majorMinor(text) {
  const match = /^(\d+)\.(\d+)/.exec(text || '');
  return match ? [Number(match[1]), Number(match[2])] : null;
}

// Whether a bundle's compiled modules load in this interpreter.
function runsOn(bundle, python) {
  if (bundle.macosMachine) {
    // On macOS sysconfig names how Python was built (python.org's: macosx-10.9-universal2), not
    // the CPU it runs on; platform.machine() does (x86_64 under Rosetta).
    const macos = majorMinor(python.macos);
    return /^macosx-/.test(python.platform) && python.machine === bundle.macosMachine &&
      macos !== null && isAtLeast(macos, bundle.minMacos);
  }
  if (bundle.sysconfigPlatform !== python.platform) {
    return false;
  }
  const glibc = glibcVersion(python.libc);
  return !bundle.minGlibc || (glibc !== null && isAtLeast(glibc, bundle.minGlibc));
}

// `python`: what the launcher's probe says of an interpreter ({version, implementation, platform,
// libc, machine, macos}). Returns the bundle that serves it: {platform, folders (relative to
// python/lib), packed (the archive its own folders ship in, or null)}; or null when the task
// bundles nothing for it (another platform, musl, an old glibc or macOS, another Python).
function chooseBundle(python, index) {
  if (python.implementation !== 'cpython') {
    return null;
  }
  const minor = `${python.version[0]}.${python.version[1]}`;
  for (const key of Object.keys(index.platforms)) {
    const bundle = index.platforms[key];
    if (bundle.pythons[minor] && runsOn(bundle, python)) {
      return {
        platform: key,
        folders: bundle.pythons[minor].concat([index.common]),
        packed: bundle.packed || null,
      };
    }
  }
  return null;
}

function platformText(bundle) {
  if (bundle.macosMachine) {
    return `macOS ${versionText(bundle.minMacos)}+ ${bundle.macosMachine}`;
  }
  return bundle.minGlibc
    ? `${bundle.sysconfigPlatform} (glibc ${versionText(bundle.minGlibc)}+)`
    : bundle.sysconfigPlatform;
}

// "linux-x86_64 (glibc 2.17+), win-amd64, macOS 11.0+ arm64 with CPython 3.9, 3.10": for messages.
function bundledText(index) {
  const platforms = Object.values(index.platforms).map(platformText);
  const pythons = Object.keys(Object.values(index.platforms)[0].pythons);
  return `${platforms.join(', ')} with CPython ${pythons.join(', ')}`;
}

module.exports = { bundledText, chooseBundle, isAtLeast, versionText };
