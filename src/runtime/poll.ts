// Waiting on another process's files or rows: look, nap, look again, with naps that grow to 50 ms.

/**
 * Call look until it answers (anything but undefined), napping 2, 4, 8 ... 50 ms between calls;
 * undefined once timeoutMs have passed without an answer. The first look is immediate.
 */
export async function pollFor<T>(look: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
  const end = Date.now() + timeoutMs;
  for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
    const answer = look();
    if (answer !== undefined) return answer;
    if (Date.now() > end) return undefined;
    await new Promise((r) => setTimeout(r, delay));
  }
}
