# nsearch-completion.bash -- bash completion for nsearch(1).
#
# Installed by `make install` as share/bash-completion/completions/nsearch,
# where bash-completion loads it on demand; or source it by hand:
#     . tools/nsearch-completion.bash
# Plain bash (compgen, COMPREPLY): it does not need the bash-completion
# package.  The options below are those of src/cli.c and src/cmd_*.c: keep
# them in step (tests/test_install.c checks that every option of
# `nsearch COMMAND --help` is offered).
#
#     nsearch <TAB>                  global options, then the commands
#     nsearch query --<TAB>          the options of `query`
#     nsearch index <TAB>            directories
#     nsearch index --lang <TAB>     the languages of `nsearch langs`
#     nsearch --index <TAB>          directories (the index is one)
#     nsearch query --batch <TAB>    files

_nsearch_commands="index add delete optimize query stats check langs help"
_nsearch_global_opts="--index --help -h --version"

# _nsearch_opts CMD: prints the options of command CMD.
_nsearch_opts()
{
	case $1 in
	index) echo "--lang --jobs -j --memory --rebuild --index --quiet -q" \
		"--progress --help -h" ;;
	add) echo "--lang --jobs -j --memory --index --quiet -q --progress" \
		"--help -h" ;;
	delete | optimize) echo "--index --quiet -q --help -h" ;;
	query) echo "-k --json --count --plain --stopwords --prf --prf-docs" \
		"--prf-terms --prf-weight --batch --k1 --b --color --index --help -h" ;;
	stats | check | langs) echo "--index --help -h" ;;
	esac
}

# _nsearch_reply COMPGEN-ARGS...: fills COMPREPLY with compgen's answers,
# one a line (so that names with blanks or '*' stay whole).
_nsearch_reply()
{
	mapfile -t COMPREPLY < <(compgen "$@")
}

# _nsearch_paths KIND CUR: fills COMPREPLY with directories (KIND d) or
# files and directories (KIND f) that start with CUR.
_nsearch_paths()
{
	_nsearch_reply -"$1" -- "$2"
	# quote and mark directories like filename completion does
	compopt -o filenames 2>/dev/null
}

# _nsearch_value OPT CUR: fills COMPREPLY with the values of option OPT
# that start with CUR.
_nsearch_value()
{
	case $1 in
	--index) _nsearch_paths d "$2" ;; # the index is a directory
	--batch) _nsearch_paths f "$2" ;;
	--lang)
		local nsearch=${COMP_WORDS[0]} langs
		# the nsearch being completed (it may be build/nsearch), else $PATH's
		langs=$("$nsearch" langs 2>/dev/null) ||
			langs=$(command nsearch langs 2>/dev/null)
		_nsearch_reply -W "$langs" -- "$2"
		;;
	--color | --colour) _nsearch_reply -W "auto always never" -- "$2" ;;
	esac # -k, --k1, --b, --prf-*, --jobs, --memory: a number, nothing to offer
}

_nsearch()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev='' opt='' pre='' i cmd=''
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()

	# --opt=value: bash splits it at '=' (COMP_WORDBREAKS) into
	# "--opt" "=" "value"; complete the value as for "--opt value".
	if [[ $cur == "=" && $prev == --* ]]; then
		opt=$prev
		cur=
	elif [[ $prev == "=" ]] && ((COMP_CWORD > 1)); then
		opt=${COMP_WORDS[COMP_CWORD - 2]}
	elif [[ $cur == --*=* ]]; then
		# '=' is not a word break here: answers must keep the "--opt="
		opt=${cur%%=*}
		pre=${cur%%=*}=
		cur=${cur#*=}
	else
		opt=$prev
	fi

	# the command: the first word that is not an option or its value
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--index) ((i++)) ;;
		-*) ;;
		*)
			cmd=${COMP_WORDS[i]}
			break
			;;
		esac
	done

	# values of options
	case $opt in
	--index | --batch | --lang | --color | --colour | -k | --k1 | --b | \
		--prf-docs | --prf-terms | --prf-weight | --jobs | -j | --memory)
		_nsearch_value "$opt" "$cur"
		((${#COMPREPLY[@]})) && [[ -n $pre ]] &&
			COMPREPLY=("${COMPREPLY[@]/#/$pre}")
		return 0
		;;
	esac

	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			_nsearch_reply -W "$_nsearch_global_opts" -- "$cur"
		else
			_nsearch_reply -W "$_nsearch_commands" -- "$cur"
		fi
		return 0
	fi

	case $cmd in
	help)
		[[ $prev == help ]] &&
			_nsearch_reply -W "${_nsearch_commands% help}" -- "$cur"
		;;
	index)
		if [[ $cur == -* ]]; then
			_nsearch_reply -W "$(_nsearch_opts index)" -- "$cur"
		else
			_nsearch_paths d "$cur"
		fi
		;;
	add)
		if [[ $cur == -* ]]; then
			_nsearch_reply -W "$(_nsearch_opts add)" -- "$cur"
		else
			_nsearch_paths f "$cur"
		fi
		;;
	query | stats | check | langs | delete | optimize)
		# query words and document ids are free text: complete only options
		# query words are free text: complete only options
		[[ $cur == -* ]] &&
			_nsearch_reply -W "$(_nsearch_opts "$cmd")" -- "$cur"
		;;
	esac
	return 0
}

complete -F _nsearch nsearch
