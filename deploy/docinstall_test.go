package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// shellWords splits a command line the way sh does for the simple commands the docs
// show: blanks separate words, '…' and "…" quote, a backslash before a line break
// continues the line.
func shellWords(line string) []string {
	line = strings.ReplaceAll(line, "\\\n", " ")
	var words []string
	var cur strings.Builder
	inWord := false
	var quote byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '#' && !inWord:
			i = len(line)
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// documentedHelmCommands returns every `helm install|upgrade … deploy/chart …` command
// in a file, continuation lines joined, as words.
func documentedHelmCommands(t *testing.T, path string) [][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(l, "helm install") && !strings.HasPrefix(l, "helm upgrade") {
			continue
		}
		cmd := l
		for strings.HasSuffix(cmd, "\\") && i+1 < len(lines) {
			i++
			cmd += "\n" + strings.TrimSpace(lines[i])
		}
		words := shellWords(cmd)
		for _, w := range words {
			if w == "deploy/chart" {
				out = append(out, words)
				break
			}
		}
	}
	return out
}

// templateArgs keeps the value flags of a helm install/upgrade command.
func templateArgs(t *testing.T, words []string) []string {
	t.Helper()
	var out []string
	for i := 0; i < len(words); i++ {
		switch w := words[i]; w {
		case "--set", "--set-string", "--set-file", "--values", "-f":
			if i+1 >= len(words) {
				t.Fatalf("%q: %s without a value", words, w)
			}
			out = append(out, w, words[i+1])
			i++
		}
	}
	return out
}

// TestDocumentedHelmInstall: the documented Helm install produced a broken config. This
// renders the chart with the values of every `helm install|upgrade … deploy/chart`
// command in docs/operations.md and NOTES.txt (as written there) and checks that each
// stage's pod, with only its own env and files, passes `hoist config check --stage`.
func TestDocumentedHelmInstall(t *testing.T) {
	bin := hoist(t)
	var cmds [][]string
	for _, f := range []string{operationsDoc, filepath.Join(chartDir, "templates", "NOTES.txt")} {
		found := documentedHelmCommands(t, f)
		if len(found) == 0 {
			t.Fatalf("%s shows no helm install of deploy/chart", f)
		}
		cmds = append(cmds, found...)
	}
	for _, words := range cmds {
		args := templateArgs(t, words)
		if len(args) == 0 {
			t.Fatalf("%q sets no values", words)
		}
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			s := helmTemplate(t, args...)
			if err := CheckHoist(s); err != nil {
				t.Fatal(err)
			}
			cfgs := s.HoistConfigs()
			for _, a := range args {
				if k, v, ok := strings.Cut(a, "="); ok && k == "repository.url" {
					for name, y := range cfgs {
						if !strings.Contains(y, v) {
							t.Errorf("ConfigMap %s does not hold the documented repository %s:\n%s", name, v, y)
						}
					}
				}
			}
			for _, stage := range Components {
				spec, c := stageContainer(t, s, stage)
				p := layOut(t, s, spec, c, fakeSecrets)
				cfg := p.hoistConfig(t, nil)
				cmd := exec.Command(bin, "config", "check", "--stage", stage, "--config", cfg)
				cmd.Env = append([]string{}, p.env...)
				cmd.Dir = p.workDir(t)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("%s: hoist config check --stage %s: %v\n%s", strings.Join(words, " "), stage, err, out)
				}
			}
		})
	}
}
