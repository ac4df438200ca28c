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

// `python`: what the launcher's probe says of an interpreter ({version, implementation, platform,
// libc}). Returns the folders (relative to python/lib) it needs, or null when the task bundles
// nothing for it (another platform, musl, an old glibc, another Python).
function bundledFolders(python, index) {
  if (python.implementation !== 'cpython') {
    return null;
  }
  const minor = `${python.version[0]}.${python.version[1]}`;
  for (const bundle of Object.values(index.platforms)) {
    if (bundle.sysconfigPlatform !== python.platform || !bundle.pythons[minor]) {
      continue;
    }
    if (bundle.minGlibc) {
      const glibc = glibcVersion(python.libc);
      if (!glibc || !isAtLeast(glibc, bundle.minGlibc)) {
        continue;
      }
    }
    return bundle.pythons[minor].concat([index.common]);
  }
  return null;
}

// "linux-x86_64 (glibc 2.17+), win-amd64 with CPython 3.9, 3.10": for messages.
function bundledText(index) {
  const platforms = Object.values(index.platforms).map((bundle) =>
    bundle.minGlibc
      ? `${bundle.sysconfigPlatform} (glibc ${versionText(bundle.minGlibc)}+)`
      : bundle.sysconfigPlatform,
  );
  const pythons = Object.keys(Object.values(index.platforms)[0].pythons);
  return `${platforms.join(', ')} with CPython ${pythons.join(', ')}`;
}

module.exports = { bundledFolders, bundledText, isAtLeast, versionText };
