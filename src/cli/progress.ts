// Progress for long operations, on stderr so that --json output stays clean:
// a redrawn bar on a terminal, a line every few seconds otherwise.
export interface Progress {
  update(done: number, total?: number, note?: string): void;
  finish(note?: string): void;
}

export function progress(label: string, options: { quiet?: boolean } = {}): Progress {
  const tty = process.stderr.isTTY === true;
  let lastLine = 0;
  let lastText = '';
  const render = (done: number, total?: number, note?: string) => {
    const width = 24;
    const filled = total ? Math.min(width, Math.round((done / Math.max(total, 1)) * width)) : 0;
    const bar = total ? `[${'#'.repeat(filled).padEnd(width, '.')}] ` : '';
    const count = total !== undefined ? `${done}/${total}` : `${done}`;
    return `${label} ${bar}${count}${note ? ` ${note}` : ''}`;
  };
  return {
    update(done, total, note) {
      if (options.quiet) return;
      lastText = render(done, total, note);
      if (tty) process.stderr.write(`\r${lastText}\x1b[K`);
      else if (Date.now() - lastLine > 2000) {
        process.stderr.write(`${lastText}\n`);
        lastLine = Date.now();
      }
    },
    finish(note) {
      if (options.quiet) return;
      const text = note ? `${label} ${note}` : lastText;
      process.stderr.write(tty ? `\r${text}\x1b[K\n` : `${text}\n`);
    },
  };
}
