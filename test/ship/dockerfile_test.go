package ship

import (
	"debug/elf"
	"errors"
	"fmt"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The image is built FROM a Go toolchain image and shipped FROM one of these.
var finalBases = []string{"gcr.io/distroless/static:nonroot", "gcr.io/distroless/static-debian12:nonroot", "scratch"}

func loadDockerfile(t *testing.T) *dockerfile {
	t.Helper()
	df, err := parseDockerfile(string(readFile(t, "Dockerfile")))
	if err != nil {
		t.Fatalf("parse Dockerfile: %v", err)
	}
	return df
}

// buildStep is the build stage's `go build` RUN: its environment
// assignments and the go command's arguments, with the build args expanded
// as docker would for a linux image of the host's architecture.
type buildStep struct {
	stage  stage
	env    map[string]string
	goArgs []string // after "go"
	output string   // the -o path
}

func findBuildStep(t *testing.T, df *dockerfile, version string) buildStep {
	t.Helper()
	b, err := buildStepOf(df, version)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func buildStepOf(df *dockerfile, version string) (buildStep, error) {
	vars := map[string]string{"TARGETOS": "linux", "TARGETARCH": runtime.GOARCH, "BUILDPLATFORM": "linux/" + runtime.GOARCH, "VERSION": version}
	for _, st := range df.stages {
		for _, in := range st.all("RUN") {
			if !strings.Contains(in.args, "go build") {
				continue
			}
			words, err := shellWords(in.args, vars)
			if err != nil {
				return buildStep{}, fmt.Errorf("Dockerfile line %d: %w", in.line, err)
			}
			b := buildStep{stage: st, env: map[string]string{}}
			for len(words) > 0 && strings.Contains(words[0], "=") {
				k, v, _ := strings.Cut(words[0], "=")
				b.env[k] = v
				words = words[1:]
			}
			if len(words) < 2 || words[0] != "go" || words[1] != "build" {
				return buildStep{}, fmt.Errorf("Dockerfile line %d: want `[VAR=value...] go build ...`, got %q", in.line, in.args)
			}
			b.goArgs = words[1:]
			if i := slices.Index(b.goArgs, "-o"); i >= 0 && i+1 < len(b.goArgs) {
				b.output = b.goArgs[i+1]
			}
			return b, nil
		}
	}
	return buildStep{}, errors.New("no RUN ... go build in the Dockerfile")
}

// TestDockerfile checks the image recipe: a multi-stage build whose last
// stage is a distroless (or scratch) base with nothing but the binary, run
// as a numeric non-root user, without a shell.
func TestDockerfile(t *testing.T) {
	goMod := string(readFile(t, "go.mod"))
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(goMod)
	if m == nil {
		t.Fatal("no go directive in go.mod")
	}
	for _, p := range checkDockerfile(string(readFile(t, "Dockerfile")), m[1]) {
		t.Error(p)
	}
}

// TestDockerfileChecks makes sure checkDockerfile catches what it is for.
func TestDockerfileChecks(t *testing.T) {
	good := string(readFile(t, "Dockerfile"))
	for name, tc := range map[string]struct{ old, new, want string }{
		"shell entrypoint": {`ENTRYPOINT ["/manager"]`, `ENTRYPOINT /manager`, "shell form"},
		"run in final":     {"USER 65532:65532", "RUN chmod +x /manager\nUSER 65532:65532", "runs commands"},
		"root user":        {"USER 65532:65532", "USER 0", "non-root"},
		"named user":       {"USER 65532:65532", "USER nonroot", "non-root"},
		"no user":          {"USER 65532:65532", "", "no USER"},
		"full base":        {"FROM gcr.io/distroless/static:nonroot", "FROM debian:12", "final stage FROM"},
		"cgo":              {"CGO_ENABLED=0 ", "", "CGO_ENABLED=0"},
		"not stripped":     {`-ldflags "-s -w `, `-ldflags "`, "does not strip"},
		"other go":         {"golang:1.26", "golang:1.20", "go.mod says"},
	} {
		t.Run(name, func(t *testing.T) {
			bad := strings.Replace(good, tc.old, tc.new, 1)
			if bad == good {
				t.Fatalf("the Dockerfile has no %q to replace", tc.old)
			}
			problems := checkDockerfile(bad, "1.26")
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tc.want) }) {
				t.Errorf("want a problem mentioning %q, got %q", tc.want, problems)
			}
		})
	}
}

// checkDockerfile returns what is wrong with the Dockerfile src for a
// module that needs Go goVersion (major.minor).
func checkDockerfile(src, goVersion string) []string {
	df, err := parseDockerfile(src)
	if err != nil {
		return []string{"parse: " + err.Error()}
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if len(df.stages) < 2 {
		bad("%d stages, want a build stage and a final stage", len(df.stages))
		return problems
	}
	final := df.stages[len(df.stages)-1]
	build, err := buildStepOf(df, "test")
	if err != nil {
		return append(problems, err.Error())
	}

	// The build stage.
	if want := "golang:" + goVersion; build.stage.base != want && !strings.HasPrefix(build.stage.base, want+".") && !strings.HasPrefix(build.stage.base, want+"-") {
		bad("build stage FROM %s, want %s (go.mod says go %s)", build.stage.base, want, goVersion)
	}
	if build.stage.name == "" {
		bad("the build stage has no name (FROM ... AS build)")
	}
	if build.env["CGO_ENABLED"] != "0" {
		bad("go build without CGO_ENABLED=0: %v", build.env)
	}
	for _, flag := range []string{"-trimpath", "-ldflags"} {
		if !slices.Contains(build.goArgs, flag) {
			bad("go build without %s: %v", flag, build.goArgs)
		}
	}
	if ld := " " + flagValue(build.goArgs, "-ldflags") + " "; !strings.Contains(ld, " -s ") || !strings.Contains(ld, " -w ") {
		bad("-ldflags %q does not strip the binary (-s -w)", ld)
	}
	if build.goArgs[len(build.goArgs)-1] != "./cmd" {
		bad("go build builds %q, want ./cmd", build.goArgs[len(build.goArgs)-1])
	}
	if build.output == "" {
		bad("go build without -o")
	}

	// The final stage.
	if !slices.Contains(finalBases, final.base) {
		bad("final stage FROM %s, want one of %v", final.base, finalBases)
	}
	if runs := final.all("RUN"); len(runs) > 0 {
		bad("the final stage runs commands (line %d): it has no shell to run them", runs[0].line)
	}
	for _, in := range final.all("COPY") {
		if in.flags["from"] != build.stage.name {
			bad("line %d: the final stage copies from %q, want only the build stage %q", in.line, in.flags["from"], build.stage.name)
		}
	}
	if users := final.all("USER"); len(users) == 0 {
		bad("the final stage sets no USER")
	} else {
		user := users[len(users)-1].args
		uid, gid, _ := strings.Cut(user, ":")
		for _, id := range []string{uid, gid} {
			if n, err := strconv.Atoi(id); id != "" && (err != nil || n == 0) || uid == "" {
				bad("USER %s: want numeric non-root IDs (65532:65532), so that runAsNonRoot can verify them", user)
				break
			}
		}
	}
	if len(final.all("CMD")) > 0 {
		bad("the final stage has a CMD: the manager takes flags, not a command")
	}
	eps := final.all("ENTRYPOINT")
	if len(eps) == 0 {
		return append(problems, "no ENTRYPOINT")
	}
	argv, ok := execForm(eps[len(eps)-1].args)
	if !ok {
		return append(problems, fmt.Sprintf("ENTRYPOINT %s is in shell form: it needs /bin/sh, which the image does not have", eps[len(eps)-1].args))
	}
	if len(argv) == 0 || !path.IsAbs(argv[0]) || slices.Contains([]string{"sh", "bash", "ash"}, path.Base(argv[0])) {
		return append(problems, fmt.Sprintf("ENTRYPOINT %q: want the manager binary by absolute path", argv))
	}
	copied := false
	for _, in := range final.all("COPY") {
		f := strings.Fields(in.args)
		if len(f) == 2 && f[0] == build.output && (f[1] == argv[0] || strings.HasSuffix(f[1], "/") && f[1]+path.Base(f[0]) == argv[0]) {
			copied = true
		}
	}
	if !copied {
		bad("the ENTRYPOINT %s is not the binary built at %s", argv[0], build.output)
	}
	return problems
}

// TestDockerfileCopiesTheSources checks that the build stage's COPY lines
// and .dockerignore let through every file ./cmd is built from: its
// packages in this module and their embedded files, go.mod and go.sum.
func TestDockerfileCopiesTheSources(t *testing.T) {
	df := loadDockerfile(t)
	build := findBuildStep(t, df, "test")
	var sources []string
	for _, in := range build.stage.all("COPY") {
		if in.flags["from"] != "" {
			continue
		}
		f := strings.Fields(in.args)
		sources = append(sources, f[:len(f)-1]...)
	}
	ignore := parseDockerignore(string(readFile(t, ".dockerignore")))

	out := run(t, nil, "go", "list", "-deps", "-f",
		`{{if .Module}}{{if .Module.Main}}{{.Dir}}|{{join .GoFiles ","}}|{{join .EmbedFiles ","}}{{end}}{{end}}`, "./cmd")
	needed := []string{"go.mod", "go.sum"}
	root := repoPath()
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		parts := strings.Split(line, "|")
		if len(parts) != 3 {
			continue
		}
		dir, err := filepath.Rel(root, parts[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, list := range parts[1:] {
			for _, f := range strings.Split(list, ",") {
				if f != "" {
					needed = append(needed, filepath.ToSlash(filepath.Join(dir, f)))
				}
			}
		}
	}
	if len(needed) < 10 {
		t.Fatalf("go list found only %v", needed)
	}
	for _, f := range needed {
		if !copiedBy(sources, f) {
			t.Errorf("%s is needed to build ./cmd but no COPY of the build stage brings it (COPY sources: %v)", f, sources)
		}
		if ignore.excludes(f) {
			t.Errorf("%s is needed to build ./cmd but .dockerignore leaves it out of the build context", f)
		}
	}
}

func copiedBy(sources []string, file string) bool {
	for _, s := range sources {
		s = strings.TrimPrefix(s, "./")
		if s == "." || s == file || strings.HasPrefix(file, strings.TrimSuffix(s, "/")+"/") {
			return true
		}
	}
	return false
}

// dockerignore holds .dockerignore patterns; the last pattern that matches
// a path or one of its parent directories decides, "!" re-includes.
type dockerignore []struct {
	pattern string
	include bool
}

func parseDockerignore(src string) dockerignore {
	var d dockerignore
	for _, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p, neg := strings.CutPrefix(line, "!")
		d = append(d, struct {
			pattern string
			include bool
		}{path.Clean(strings.TrimPrefix(p, "/")), neg})
	}
	return d
}

func (d dockerignore) excludes(file string) bool {
	excluded := false
	for _, p := range d {
		if matchesOrParent(p.pattern, file) {
			excluded = !p.include
		}
	}
	return excluded
}

func matchesOrParent(pattern, file string) bool {
	for f := file; f != "." && f != "/"; f = path.Dir(f) {
		if globMatch(pattern, f) {
			return true
		}
	}
	return false
}

// globMatch is path.Match with "**" matching any number of directories.
func globMatch(pattern, name string) bool {
	if rest, ok := strings.CutPrefix(pattern, "**/"); ok {
		parts := strings.Split(name, "/")
		for i := range parts {
			if globMatch(rest, strings.Join(parts[i:], "/")) {
				return true
			}
		}
		return false
	}
	ok, _ := path.Match(pattern, name)
	return ok
}

func flagValue(args []string, flag string) string {
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v
		}
	}
	return ""
}

// TestDockerfileBinary builds the manager exactly as the Dockerfile does
// (same environment, same go build arguments, for linux) and checks that
// the result can run on a distroless static base: statically linked,
// stripped, and working.
func TestDockerfileBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the manager; skipped with -short")
	}
	df := loadDockerfile(t)
	const version = "0.0.0-shiptest"
	build := findBuildStep(t, df, version)
	bin := filepath.Join(t.TempDir(), "manager")
	args := slices.Clone(build.goArgs)
	args[slices.Index(args, "-o")+1] = bin
	var env []string
	for k, v := range build.env {
		env = append(env, k+"="+v)
	}
	run(t, env, "go", args...)

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("open the binary as ELF: %v", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the binary has a %s program header: it is dynamically linked and will not start on distroless/static", p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v", libs)
	}
	for _, s := range f.Sections {
		if s.Name == ".symtab" || strings.HasPrefix(s.Name, ".debug_") || strings.HasPrefix(s.Name, ".zdebug_") {
			t.Errorf("the binary has section %s: not stripped (-s -w)", s.Name)
		}
	}

	if runtime.GOOS != "linux" {
		t.Logf("built for linux on %s: not running it", runtime.GOOS)
		return
	}
	out, err := exec.Command(bin, "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("manager --help: %v\n%s", err, out)
	}
	for _, flag := range []string{"Usage: manager", "-leader-elect", "-health-probe-bind-address", "-metrics-bind-address"} {
		if !strings.Contains(string(out), flag) {
			t.Errorf("manager --help does not mention %q:\n%s", flag, out)
		}
	}
	if out, err := exec.Command(bin, "version").Output(); err != nil || strings.TrimSpace(string(out)) != version {
		t.Errorf("manager version = %q, %v; want %q (the Dockerfile's VERSION build arg reaches -X main.version)", out, err, version)
	}
}

// TestDockerfileMatchesMakeBuild checks that `make build` and the image
// build the binary with the same flags.
func TestDockerfileMatchesMakeBuild(t *testing.T) {
	build := findBuildStep(t, loadDockerfile(t), "VERSION")
	makefile := string(readFile(t, "Makefile"))
	var line string
	for _, l := range strings.Split(makefile, "\n") {
		if strings.Contains(l, "build -trimpath") || strings.Contains(l, "$(GO) build") {
			line = l
			break
		}
	}
	if line == "" {
		t.Fatal("no `$(GO) build` line in the Makefile")
	}
	// Make variables become plain words: $(GO) is go, $(X) is X.
	line = regexp.MustCompile(`\$\((\w+)\)`).ReplaceAllStringFunc(strings.TrimSpace(line), func(v string) string {
		if v == "$(GO)" {
			return "go"
		}
		return v[2 : len(v)-1]
	})
	words, err := shellWords(line, nil)
	if err != nil {
		t.Fatalf("Makefile build line: %v", err)
	}
	if !slices.Contains(words, "CGO_ENABLED=0") {
		t.Errorf("make build does not set CGO_ENABLED=0: %s", line)
	}
	for _, flag := range []string{"-trimpath", "-ldflags"} {
		if slices.Contains(build.goArgs, flag) != slices.Contains(words, flag) {
			t.Errorf("%s: the Dockerfile and make build differ:\n  %v\n  %s", flag, build.goArgs, line)
		}
	}
	if a, b := flagValue(build.goArgs, "-ldflags"), flagValue(words, "-ldflags"); a != b {
		t.Errorf("-ldflags differ: Dockerfile %q, make build %q", a, b)
	}
}
