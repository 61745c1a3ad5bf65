package ship

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// outsidePaths are the ways a test, script or build could reach files
// outside the repository: a sibling directory of the clone, or an absolute
// path into one machine's home or work directories. A user's clone has none
// of them. Built by concatenation so this file does not match itself.
var outsidePaths = []string{
	".." + "/shared",
	`"..", "` + `shared"`,
	"/" + "work/",
	"/" + "root/",
	"/" + "home/",
}

// sourceExts are the files that tests, scripts and builds are made of.
var sourceExts = []string{".go", ".sh", ".mk", ".yaml", ".yml", ".tpl", ".txt", ".json", ".lua", ".cfg"}

// TestSelfContained fails when any test, script or build file names a path
// outside the repository: `make test` must pass in a clone with nothing
// beside it.
func TestSelfContained(t *testing.T) {
	root := repoPath()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			switch rel {
			case ".git", "bin", ".demo", filepath.Join("test", "bench", "results"):
				return filepath.SkipDir
			}
			return nil
		}
		if !isSource(rel) {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(data), "\n") {
			for _, p := range outsidePaths {
				if strings.Contains(line, p) {
					t.Errorf("%s:%d names %q, a path outside the repository", rel, i+1, p)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func isSource(rel string) bool {
	base := filepath.Base(rel)
	if base == "Makefile" || strings.HasSuffix(base, "Dockerfile") {
		return true
	}
	for _, ext := range sourceExts {
		if strings.HasSuffix(base, ext) {
			return true
		}
	}
	return false
}
