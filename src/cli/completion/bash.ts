// The bash completion script `wh completion bash` prints (README, "Shell completion"). It needs
// bash 4 and nothing else (not the bash-completion package). Commands, options and which options
// take a value are written into it from the CLI (spec.ts); interfaces (the control sockets in
// WH_CONTROL_DIR or /var/run/wirehub) and network names (NAME.conf in WH_CONFIG_DIR or
// /etc/wirehub) are listed by the shell itself at TAB time; peer names come from
// `wh __complete peers`, which asks the running daemons (src/cli/completion/peers.ts).
import { CONFIG_DIR, CONTROL_DIR } from '../../params.js';
import { quoted, type CommandSpec, type OptionSpec } from './spec.js';
import { wordWalk } from './walk.js';

function optionCases(commands: CommandSpec[], rootOptions: OptionSpec[]): string {
  const lines = commands.map((c) => `    ${quoted(c.name)}) words=${quoted(c.options.flatMap((o) => o.flags).join(' '))} ;;`);
  lines.push(`    *) words=${quoted(rootOptions.flatMap((o) => o.flags).join(' '))} ;;`);
  return lines.join('\n');
}

function valueCases(commands: CommandSpec[]): string {
  const lines: string[] = [];
  for (const c of commands) {
    for (const o of c.options) {
      if (o.value === undefined) continue;
      lines.push(`    ${o.flags.map((f) => quoted(`${c.name} ${f}`)).join('|')}) echo ${o.value} ;;`);
    }
  }
  lines.push('    *) return 1 ;;');
  return lines.join('\n');
}

function argCases(commands: CommandSpec[]): string {
  return [...commands.map((c) => `    ${quoted(c.name)}) echo ${c.args.join(' ')} ;;`), '    *) echo none ;;'].join('\n');
}

export function bashScript(commands: CommandSpec[], rootOptions: OptionSpec[]): string {
  return `# bash completion for wh (WireHub), printed by \`wh completion bash\`.
# Load it in this shell:  source <(wh completion bash)
# For every shell:        wh completion bash > /etc/bash_completion.d/wh
# Interfaces and network names are read at TAB time from \${WH_CONTROL_DIR:-${CONTROL_DIR}} and
# \${WH_CONFIG_DIR:-${CONFIG_DIR}}; peer names are asked of the running nodes (wh __complete peers).

_wh_commands=${quoted(commands.map((c) => c.name).join(' '))}

# _wh_list DIR SUFFIX TEST: the names of DIR's entries that end in SUFFIX and pass "test TEST" (-S, -f).
_wh_list() {
  local f
  for f in "$1"/*"$2"; do
    test "$3" "$f" || continue
    f=\${f##*/}; printf '%s\\n' "\${f%"$2"}"
  done
}

_wh_ifaces() { _wh_list "\${WH_CONTROL_DIR:-${CONTROL_DIR}}" .sock -S; }
_wh_networks() { _wh_list "\${WH_CONFIG_DIR:-${CONFIG_DIR}}" .conf -f; }

_wh_peers() {
  # The wh being completed (as typed: wh, ./bin/wh.js...); silent, whatever happens.
  "\${_wh_prog:-wh}" __complete peers \${1:+"$1"} 2>/dev/null
}

# _wh_options CMD: the options of a command (or of wh itself).
_wh_options() {
  local words
  case $1 in
${optionCases(commands, rootOptions)}
  esac
  printf '%s\\n' "$words"
}

# _wh_value CMD OPTION: what the option's value is; fails when it takes none.
_wh_value() {
  case "$1 $2" in
${valueCases(commands)}
  esac
}

# _wh_args CMD: the kinds of its arguments, in order (the last one repeats).
_wh_args() {
  case $1 in
${argCases(commands)}
  esac
}

# _wh_add WORDS...: the words that start like the word being completed.
_wh_add() {
  local w
  while IFS= read -r w; do [[ -n $w ]] && COMPREPLY+=("$w"); done < <(compgen -W "$*" -- "$cur")
}

_wh_files() {
  local w
  compopt -o filenames 2>/dev/null
  while IFS= read -r w; do [[ -n $w ]] && COMPREPLY+=("$w"); done < <(compgen "\${1:--f}" -- "$cur")
}

# _wh_kind KIND: completes the word being completed as a KIND (src/cli/completion/spec.ts).
_wh_kind() {
  local n=\${#pos[@]} w used
  case $1 in
    node) _wh_add "$(_wh_ifaces)" "$(_wh_networks)" ;;
    iface) _wh_add "$(_wh_ifaces)" ;;
    config)
      _wh_add "$(_wh_networks)"
      if [[ $cur == */* || $cur == .* || $cur == ~* ]]; then _wh_files; fi ;;
    upwords)
      # Pairs after the config: private-key FILE, interface NAME, listen-port N.
      if (( (n - 1) % 2 == 1 )); then
        [[ \${pos[n-1]} == private-key ]] && _wh_files
      else
        used=" \${pos[*]:1} "
        for w in private-key interface listen-port; do [[ $used == *" $w "* ]] || _wh_add "$w"; done
      fi ;;
    showwords)
      # IFACE, then PEER of that node; "all" anywhere.
      local node=""
      for w in "\${pos[@]}"; do [[ $w == all ]] || { node=$w; break; }; done
      [[ " \${pos[*]} " == *" all "* ]] || _wh_add all
      if [[ -z $node ]]; then _wh_add "$(_wh_ifaces)"
      elif (( n < 3 )) && [[ \${pos[n-1]} == "$node" || \${pos[n-1]} == all ]]; then _wh_add "$(_wh_peers "$node")"
      fi ;;
    peer) _wh_add "$(_wh_peers "$iface")" ;;
    file) _wh_files -f ;;
    dir) _wh_files -d ;;
    shell) _wh_add bash zsh ;;
  esac
}

_wh() {
  local cur=\${COMP_WORDS[COMP_CWORD]} cmd="" iface="" w i value="" kinds
  local -a pos=()
  local _wh_prog=\${COMP_WORDS[0]}
  COMPREPLY=()
${wordWalk({ from: '1', until: 'i < COMP_CWORD', word: '${COMP_WORDS[i]}', readValue: 'value=$(_wh_value "$cmd" "$w") || value=""' })}
  if [[ -z $cmd ]]; then
    if [[ $cur == -* ]]; then _wh_add "$(_wh_options "")"; else _wh_add "$_wh_commands"; fi
    return 0
  fi
  if [[ -n $value ]]; then _wh_kind "$value"; return 0; fi
  if [[ $cur == -* ]]; then _wh_add "$(_wh_options "$cmd")"; return 0; fi
  read -r -a kinds <<< "$(_wh_args "$cmd")"
  i=\${#pos[@]}
  (( i >= \${#kinds[@]} )) && i=$(( \${#kinds[@]} - 1 ))
  _wh_kind "\${kinds[i]}"
  return 0
}

complete -F _wh wh
`;
}
