// The zsh completion script `wh completion zsh` prints (README, "Shell completion"): the same
// completions as the bash script (bash.ts), with the commands' and options' descriptions. It
// works sourced (after compinit) or saved as `_wh` in a directory of $fpath.
import { CONFIG_DIR, CONTROL_DIR } from '../../params.js';
import { quoted, type CommandSpec, type OptionSpec } from './spec.js';
import { wordWalk } from './walk.js';

const described = (flag: string, description: string): string => quoted(`${flag.replace(/:/g, '\\:')}:${description.replace(/\s+/g, ' ')}`);

function optionCases(commands: CommandSpec[], rootOptions: OptionSpec[]): string {
  const list = (opts: OptionSpec[]) => opts.flatMap((o) => o.flags.map((f) => described(f, o.description))).join(' ');
  return [...commands.map((c) => `    ${quoted(c.name)}) opts=(${list(c.options)}) ;;`), `    *) opts=(${list(rootOptions)}) ;;`].join('\n');
}

function valueCases(commands: CommandSpec[]): string {
  const lines: string[] = [];
  for (const c of commands) {
    for (const o of c.options) if (o.value !== undefined) lines.push(`    ${o.flags.map((f) => quoted(`${c.name} ${f}`)).join('|')}) REPLY=${o.value} ;;`);
  }
  lines.push('    *) return 1 ;;');
  return lines.join('\n');
}

export function zshScript(commands: CommandSpec[], rootOptions: OptionSpec[]): string {
  const cmdList = commands.map((c) => described(c.name, c.description)).join('\n    ');
  const argCases = [...commands.map((c) => `    ${quoted(c.name)}) kinds=(${c.args.join(' ')}) ;;`), '    *) kinds=(none) ;;'].join('\n');
  return `#compdef wh
# zsh completion for wh (WireHub), printed by \`wh completion zsh\`.
# Load it in this shell (after compinit):  source <(wh completion zsh)
# For every shell: save it as _wh in a directory of $fpath, e.g.
#   wh completion zsh > /usr/local/share/zsh/site-functions/_wh
# Interfaces and network names are read at TAB time from \${WH_CONTROL_DIR:-${CONTROL_DIR}} and
# \${WH_CONFIG_DIR:-${CONFIG_DIR}}; peer names are asked of the running nodes (wh __complete peers).

_wh_ifaces() {
  local -a f
  f=( \${WH_CONTROL_DIR:-${CONTROL_DIR}}/*.sock(N=:t:r) )
  (( \${#f} )) && compadd -X 'running nodes' -- \$f
}

_wh_networks() {
  local -a f
  f=( \${WH_CONFIG_DIR:-${CONFIG_DIR}}/*.conf(N.:t:r) )
  (( \${#f} )) && compadd -X 'networks' -- \$f
}

_wh_peers() {
  local -a p
  p=( \${(f)"$(\${_wh_prog:-wh} __complete peers \${1:+"$1"} 2>/dev/null)"} )
  (( \${#p} )) && compadd -X 'peers' -- \$p
}

_wh_value() {
  case "$1 $2" in
${valueCases(commands)}
  esac
}

_wh_kind() {
  local n=\${#pos} w node
  case $1 in
    node) _wh_ifaces; _wh_networks ;;
    iface) _wh_ifaces ;;
    config) _wh_networks; [[ $PREFIX == */* || $PREFIX == .* || $PREFIX == ~* ]] && _files ;;
    upwords)
      if (( (n - 1) % 2 == 1 )); then
        [[ \${pos[n]} == private-key ]] && _files
      else
        for w in private-key interface listen-port; do (( \${pos[(Ie)$w]} )) || compadd -- $w; done
      fi ;;
    showwords)
      for w in $pos; do [[ $w == all ]] || { node=$w; break; }; done
      (( \${pos[(Ie)all]} )) || compadd -- all
      if [[ -z $node ]]; then _wh_ifaces
      elif (( n < 3 )) && [[ \${pos[n]} == "$node" || \${pos[n]} == all ]]; then _wh_peers "$node"
      fi ;;
    peer) _wh_peers "$iface" ;;
    file) _files ;;
    dir) _files -/ ;;
    shell) compadd -- bash zsh ;;
  esac
}

_wh() {
  local cmd="" iface="" w value="" REPLY i
  local -a pos kinds opts cmds
  local _wh_prog=\${words[1]}
  cmds=(
    ${cmdList}
  )
${wordWalk({ from: '2', until: 'i < CURRENT', word: '${words[i]}', readValue: 'if _wh_value "$cmd" "$w"; then value=$REPLY; fi' })}
  if [[ -n $cmd && -n $value ]]; then _wh_kind "$value"; return 0; fi
  if [[ $PREFIX == -* ]]; then
    case $cmd in
${optionCases(commands, rootOptions)}
    esac
    _describe -t options 'option' opts
    return 0
  fi
  if [[ -z $cmd ]]; then _describe -t commands 'wh command' cmds; return 0; fi
  case $cmd in
${argCases}
  esac
  i=$(( \${#pos} + 1 ))
  (( i > \${#kinds} )) && i=\${#kinds}
  _wh_kind "\${kinds[i]}"
  return 0
}

if [[ "\${funcstack[1]}" == _wh ]]; then
  _wh "$@"
else
  compdef _wh wh
fi
`;
}
