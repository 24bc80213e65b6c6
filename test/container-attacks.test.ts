// Attacks from inside a container on the supervisor's side of the border: the caller's terminal,
// the host's supervisor binary, nested user namespaces; and -u honoured at every level.
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, missing, sandbox } from './helpers.js';

const sb = sandbox();
afterAll(() => sb.clean());
const { cli } = sb;

/** python3 -c for code of any shape: base64 keeps it out of every quoting layer. */
const py = (code: string) => ['python3', '-c', `import base64; exec(base64.b64decode("${Buffer.from(code).toString('base64')}"))`];
const shq = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;

// run inside by exec, on a real terminal: its session, its controlling terminal, and a TIOCSTI into the terminal
const TTY_PROBE = `
import fcntl, os, termios
st = open("/proc/self/stat").read()
tty_nr = int(st[st.rindex(")") + 2:].split()[4])
print("own-session" if os.getsid(0) == os.getpid() else "caller-session", "ctty" if tty_nr else "no-ctty", "stdin-tty" if os.isatty(0) else "stdin-not-tty")
try:
    fcntl.ioctl(0, termios.TIOCSTI, b" ")
    print("tiocsti-injected")
except OSError as e:
    print("tiocsti-refused")
`;

// inside: wait for a process running "#!/proc/self/exe" (the host's supervisor binary), take a handle on its exe, try to write
const EXE_ATTACK = `
import os, time
fd, deadline = None, time.time() + 60
while fd is None and time.time() < deadline:
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            if open(f"/proc/{p}/cmdline", "rb").read().startswith(b"/proc/self/exe\\0"):
                fd = os.open(f"/proc/{p}/exe", os.O_RDONLY)
                break
        except OSError:
            pass
    time.sleep(0.02)
if fd is None:
    print("no-handle")
else:
    ro = "ro" if os.fstatvfs(fd).f_flag & os.ST_RDONLY else "rw"
    try:
        os.close(os.open(f"/proc/self/fd/{fd}", os.O_WRONLY))
        print("handle", ro, "write-opened")
    except OSError:
        print("handle", ro, "write-refused")
`;

// on the host: exec the script with a full stderr pipe, so the supervisor binary it runs waits in the container, and attack meanwhile
const HOST_DRIVER = `
import os, subprocess, sys
cli, ctr, attack = sys.argv[1:4]
r, w = os.pipe()
os.set_blocking(w, False)
try:
    while True:
        os.write(w, b"x" * 4096)
except BlockingIOError:
    pass
os.set_blocking(w, True)
victim = subprocess.Popen(["node", cli, "exec", ctr, "/app/x"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=w)
os.close(w)
out = subprocess.run(["node", cli, "exec", ctr, "python3", "-c", attack], capture_output=True, text=True, timeout=120)
while os.read(r, 65536):
    pass
victim.wait()
print(out.stdout.strip() or out.stderr.strip())
`;

for (const level of ['minimal', 'standard', 'strict'] as const) {
  const skip = level === 'minimal' ? undefined : missing({ [level]: true });
  describe.skipIf(!!skip)(`${level}${skip ? ` (skipped: ${skip})` : ''}`, () => {
    it('-u 1000:1000 runs as 1000:1000 with no supplementary group and no capability', async () => {
      const r = await cli(['run', '--rm', '--isolation', level, '-u', '1000:1000', 'host', 'sh', '-c', 'id; grep CapEff /proc/self/status']);
      expect(r.exitCode, String(r.stderr)).toBe(0);
      const [id, caps] = String(r.stdout).split('\n');
      expect(id).toMatch(/^uid=1000(\([^)]*\))? gid=1000(\([^)]*\))? groups=1000(\([^)]*\))?$/);
      expect(caps).toMatch(/^CapEff:\s*0+$/);
    });

    it('exec gets a session of its own: no controlling terminal of the caller, no TIOCSTI into it', async () => {
      const name = `tty-${level}`;
      expect((await cli(['run', '-d', '--isolation', level, '--name', name, 'host', 'sleep', '300'])).exitCode).toBe(0);
      // -i: the caller's terminal is the command's stdin (without it, as with docker, stdin is /dev/null)
      const command = ['node', BIN, 'exec', '-i', name, ...py(TTY_PROBE)].map(shq).join(' ');
      const r = await execa('script', ['-qec', command, '/dev/null'], { env: sb.env, reject: false, timeout: 60_000 });
      const out = String(r.stdout).replace(/\r/g, '');
      expect(out).toContain('own-session no-ctty stdin-tty');
      // minimal runs as the caller with CAP_SYS_ADMIN, which may TIOCSTI into any terminal: it promises nothing here
      if (level !== 'minimal') expect(out).toContain('tiocsti-refused');
      await cli(['rm', '-f', name]);
    });
  });
}

for (const level of ['standard', 'strict'] as const) {
  const skip = missing({ [level]: true });
  describe.skipIf(!!skip)(`${level} against the supervisor binary${skip ? ` (skipped: ${skip})` : ''}`, () => {
    it('a "#!/proc/self/exe" script gives only a read-only handle on the supervisor binary', async () => {
      const name = `exe-${level}`;
      expect((await cli(['run', '-d', '--isolation', level, '--name', name, 'host', 'sleep', '300'])).exitCode).toBe(0);
      await cli(['exec', name, 'sh', '-c', 'printf "#!/proc/self/exe\\n" > /app/x && chmod +x /app/x']);
      const r = await execa('python3', ['-c', HOST_DRIVER, BIN, name, EXE_ATTACK], { env: sb.env, reject: false, timeout: 150_000 });
      expect(String(r.stdout)).toBe('handle ro write-refused');
      await cli(['rm', '-f', name]);
    });
  });
}

describe.skipIf(!!missing({ strict: true }))('strict nested namespaces', () => {
  it('creates no user namespace inside, and cannot raise the limit', async () => {
    const r = await cli(['run', '--rm', '--isolation', 'strict', 'host', 'sh', '-c',
      'cat /proc/sys/user/max_user_namespaces; (echo 9 > /proc/sys/user/max_user_namespaces) 2>/dev/null && echo raised; unshare -U true 2>/dev/null && echo nested-userns; unshare -Ur true 2>/dev/null && echo nested-root; echo checked']);
    expect(String(r.stdout)).toBe('0\nchecked');
  });
});
