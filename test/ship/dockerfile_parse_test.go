package ship

import (
	"encoding/json"
	"fmt"
	"strings"
)

// instruction is one Dockerfile instruction: its keyword (upper case), its
// --flags and the rest of the line, continuations joined.
type instruction struct {
	line  int
	cmd   string
	flags map[string]string
	args  string
}

// stage is a FROM and the instructions after it.
type stage struct {
	base, name, platform string
	instrs               []instruction
}

// dockerfile is a parsed Dockerfile: the global ARGs before the first FROM
// and the stages.
type dockerfile struct {
	globalArgs []instruction
	stages     []stage
}

// parseDockerfile parses the subset of the Dockerfile syntax wharf uses:
// comments and parser directives, line continuations with a backslash,
// instructions with --flags.
func parseDockerfile(src string) (*dockerfile, error) {
	df := &dockerfile{}
	var pending strings.Builder
	start := 0
	for i, raw := range strings.Split(src, "\n") {
		line := strings.TrimSpace(raw)
		if pending.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if pending.Len() > 0 && strings.HasPrefix(line, "#") {
			continue // comments inside a continued instruction
		}
		if pending.Len() == 0 {
			start = i + 1
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			pending.WriteString(cont + " ")
			continue
		}
		pending.WriteString(line)
		in, err := parseInstruction(start, pending.String())
		pending.Reset()
		if err != nil {
			return nil, err
		}
		if err := df.add(in); err != nil {
			return nil, err
		}
	}
	if pending.Len() > 0 {
		return nil, fmt.Errorf("line %d: unterminated continuation", start)
	}
	if len(df.stages) == 0 {
		return nil, fmt.Errorf("no FROM")
	}
	return df, nil
}

func parseInstruction(line int, text string) (instruction, error) {
	cmd, rest, _ := strings.Cut(text, " ")
	in := instruction{line: line, cmd: strings.ToUpper(cmd), flags: map[string]string{}}
	rest = strings.TrimSpace(rest)
	for strings.HasPrefix(rest, "--") {
		flag, after, _ := strings.Cut(rest, " ")
		k, v, _ := strings.Cut(strings.TrimPrefix(flag, "--"), "=")
		in.flags[k] = v
		rest = strings.TrimSpace(after)
	}
	in.args = rest
	if in.args == "" {
		return in, fmt.Errorf("line %d: %s without arguments", line, in.cmd)
	}
	return in, nil
}

func (df *dockerfile) add(in instruction) error {
	if in.cmd == "FROM" {
		f := strings.Fields(in.args)
		st := stage{base: f[0], platform: in.flags["platform"]}
		if len(f) == 3 && strings.EqualFold(f[1], "AS") {
			st.name = f[2]
		} else if len(f) != 1 {
			return fmt.Errorf("line %d: cannot parse FROM %s", in.line, in.args)
		}
		df.stages = append(df.stages, st)
		return nil
	}
	if len(df.stages) == 0 {
		if in.cmd != "ARG" {
			return fmt.Errorf("line %d: %s before the first FROM", in.line, in.cmd)
		}
		df.globalArgs = append(df.globalArgs, in)
		return nil
	}
	st := &df.stages[len(df.stages)-1]
	st.instrs = append(st.instrs, in)
	return nil
}

// all returns the stage's instructions of one keyword.
func (s stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.instrs {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// execForm parses the JSON (exec) form of ENTRYPOINT, CMD or RUN; ok is
// false for the shell form.
func execForm(args string) ([]string, bool) {
	var argv []string
	if err := json.Unmarshal([]byte(args), &argv); err != nil {
		return nil, false
	}
	return argv, true
}

// shellWords splits a shell command line the way sh does for the simple
// commands of a Dockerfile RUN: words separated by blanks, single and
// double quotes, and $VAR / ${VAR} expanded from vars (outside single
// quotes). It fails on what it does not support (pipes, ;, &&, $( ), `).
func shellWords(s string, vars map[string]string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	quote := rune(0)
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case quote == '\'':
			if r == '\'' {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			if quote == r {
				quote = 0
			} else if quote == 0 {
				quote, inWord = r, true
			} else {
				cur.WriteRune(r)
			}
		case r == '$':
			name, n := varName(rs[i+1:])
			if name == "" {
				return nil, fmt.Errorf("unsupported $ expression in %q", s)
			}
			cur.WriteString(vars[name])
			inWord = true
			i += n
		case r == '\\' && quote == 0 && i+1 < len(rs):
			i++
			cur.WriteRune(rs[i])
			inWord = true
		case quote == 0 && strings.ContainsRune("|;&<>`()", r):
			return nil, fmt.Errorf("unsupported shell syntax %q in %q", r, s)
		case quote == 0 && (r == ' ' || r == '\t'):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated quote in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// varName reads a variable reference after '$': NAME or {NAME}. It returns
// the name and how many runes it used.
func varName(rs []rune) (string, int) {
	if len(rs) > 0 && rs[0] == '{' {
		for j := 1; j < len(rs); j++ {
			if rs[j] == '}' {
				return string(rs[1:j]), j + 1
			}
		}
		return "", 0
	}
	j := 0
	for j < len(rs) && (rs[j] == '_' || rs[j] >= 'A' && rs[j] <= 'Z' || rs[j] >= 'a' && rs[j] <= 'z' || j > 0 && rs[j] >= '0' && rs[j] <= '9') {
		j++
	}
	return string(rs[:j]), j
}
