/**
 * The shell side of completion: each script passes the words typed so far to `ternix __complete` and
 * shows what it prints (see completion.ts). Candidates are never expanded by the shell (no
 * `compgen -W`, which would run `$(…)` inside a host name); bash quotes them with `printf %q`.
 */
export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof SHELLS)[number];

const bash = `# ternix bash completion: source it, e.g. \`source <(ternix completion bash)\`
_ternix_complete() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" line value
  local -a lines
  COMPREPLY=()
  mapfile -t lines < <(ternix __complete -- "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)
  case "\${lines[0]-}" in
    :dirs) mapfile -t COMPREPLY < <(compgen -d -- "$cur"); compopt -o filenames 2>/dev/null; return 0 ;;
    :files) mapfile -t COMPREPLY < <(compgen -f -- "$cur"); compopt -o filenames 2>/dev/null; return 0 ;;
  esac
  for line in "\${lines[@]}"; do
    value="\${line%%$'\\t'*}"
    if [[ "$value" == "$cur" || "$value" =~ ^[A-Za-z0-9_./:@%+,=-]*$ ]]; then
      COMPREPLY+=("$value")
    else
      COMPREPLY+=("$(printf '%q' "$value")")
    fi
  done
}
complete -F _ternix_complete ternix
`;

const zsh = `#compdef ternix
# ternix zsh completion: put it in a directory on $fpath as _ternix, or \`source <(ternix completion zsh)\`
_ternix() {
  local -a lines values descriptions
  local line
  lines=("\${(@f)$(ternix __complete -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  case "\${lines[1]}" in
    :dirs) _files -/; return ;;
    :files) _files; return ;;
  esac
  for line in "\${lines[@]}"; do
    [[ -z "$line" ]] && continue
    values+=("\${line%%$'\\t'*}")
    if [[ "$line" == *$'\\t'* ]]; then descriptions+=("\${line%%$'\\t'*} -- \${line#*$'\\t'}")
    else descriptions+=("\${line}"); fi
  done
  (( \${#values} )) && compadd -l -d descriptions -- "\${values[@]}"
}
if [[ "\${zsh_eval_context[-1]}" == loadautofunc ]]; then _ternix "$@"; else compdef _ternix ternix; fi
`;

const fish = `# ternix fish completion: \`ternix completion fish > ~/.config/fish/completions/ternix.fish\`
function __ternix_complete
    set -l words (commandline -opc) (commandline -ct)
    set -l lines (ternix __complete -- $words[2..-1] 2>/dev/null)
    switch "$lines[1]"
        case :dirs
            __fish_complete_directories (commandline -ct)
        case :files
            __fish_complete_path (commandline -ct)
        case '*'
            printf '%s\\n' $lines
    end
end
complete -c ternix -f -a '(__ternix_complete)'
`;

export function completionScript(shell: Shell): string {
  switch (shell) {
    case "bash":
      return bash;
    case "zsh":
      return zsh;
    case "fish":
      return fish;
  }
}
