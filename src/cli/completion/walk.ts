// The walk over the words typed before the cursor, shared by the bash and zsh scripts: it finds
// the command, the interface given to an option that takes one, and the positional words, and
// skips options and their values. The shells differ only in where the words are, where the
// walk starts and ends, and how the value kind of an option is read (bash: _wh_value prints it;
// zsh: _wh_value sets REPLY), which each script passes in.

export interface WalkShell {
  /** The index of the first word after `wh`, and the test that ends the walk, as shell text. */
  from: string;
  until: string;
  /** The expression of word i (`\${COMP_WORDS[i]}`, `\${words[i]}`). */
  word: string;
  /** The shell line that sets `value` to the kind of option $w of command $cmd, or to "". */
  readValue: string;
}

/** The loop, indented for the body of the _wh function. */
export function wordWalk(sh: WalkShell): string {
  return `  for (( i = ${sh.from}; ${sh.until}; i++ )); do
    w=${sh.word}
    if [[ -n $value ]]; then [[ $value == iface ]] && iface=$w; value=""; continue; fi
    if [[ -z $cmd ]]; then [[ $w == -* ]] || cmd=$w; continue; fi
    if [[ $w == -* ]]; then
      [[ $w == *=* ]] && continue
      ${sh.readValue}
      continue
    fi
    pos+=("$w")
  done`;
}
