// Polls a condition until it holds; a fault test waits on states (an actor restarted, a ring
// filled), never on fixed sleeps. The timeout only turns a hang into a readable failure.

export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 20_000, pollMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
