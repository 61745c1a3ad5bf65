package ship

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/operator-framework/api/pkg/manifests"
	"github.com/operator-framework/api/pkg/validation"
	"github.com/operator-framework/api/pkg/validation/errors"
	interfaces "github.com/operator-framework/api/pkg/validation/interfaces"
	"sigs.k8s.io/yaml"
)

// bundleSuites are operator-framework's validators that `operator-sdk bundle
// validate` runs by default (ClusterServiceVersion, CustomResourceDefinition,
// Bundle), plus the OperatorHub, object and good-practices suites it runs
// with --select-optional (github.com/operator-framework/api pkg/validation).
var bundleSuites = map[string]interfaces.Validator{
	"ClusterServiceVersion":    validation.ClusterServiceVersionValidator,
	"CustomResourceDefinition": validation.CustomResourceDefinitionValidator,
	"Bundle":                   validation.BundleValidator,
	"OperatorHub":              validation.OperatorHubV2Validator,
	"Object":                   validation.ObjectValidator,
	"GoodPractices":            validation.GoodPracticesValidator,
}

// validateBundle loads the bundle in dir as OLM does and runs one suite on
// it, returning the errors and the warnings found.
func validateBundle(t *testing.T, dir string, suite interfaces.Validator) (errs, warns []errors.Error) {
	t.Helper()
	b, err := manifests.GetBundleFromDir(dir)
	if err != nil {
		return []errors.Error{{Type: errors.ErrorInvalidBundle, Level: errors.LevelError, Detail: err.Error()}}, nil
	}
	objs := append(b.ObjectsToValidate(), map[string]string{"k8s-version": "1.37"})
	for _, r := range suite.Validate(objs...) {
		errs = append(errs, r.Errors...)
		warns = append(warns, r.Warnings...)
	}
	return errs, warns
}

// TestBundleValidators runs operator-framework's own bundle validators on
// bundle/: a bundle they refuse is one OLM and OperatorHub refuse.
func TestBundleValidators(t *testing.T) {
	for name, suite := range bundleSuites {
		t.Run(name, func(t *testing.T) {
			errs, warns := validateBundle(t, repoPath("bundle"), suite)
			for _, e := range errs {
				t.Errorf("%s", e.Error())
			}
			for _, w := range warns {
				t.Logf("warning: %s", w.Error())
			}
		})
	}
}

// TestBundleValidatorsRefuseBrokenCSV shows the validators are really run:
// the same bundle with a ClusterServiceVersion that lacks spec.install fails.
func TestBundleValidatorsRefuseBrokenCSV(t *testing.T) {
	dir := t.TempDir()
	copyTree(t, repoPath("bundle"), dir)
	csvPath := filepath.Join(dir, "manifests", filepath.Base(csvFile))
	var csv map[string]any
	if err := yaml.Unmarshal(readFile(t, csvFile), &csv); err != nil {
		t.Fatal(err)
	}
	delete(csv["spec"].(map[string]any), "install")
	data, err := yaml.Marshal(csv)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(csvPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	errs, _ := validateBundle(t, dir, validation.DefaultBundleValidators)
	found := false
	for _, e := range errs {
		if strings.Contains(strings.ToLower(e.Error()), "install") {
			found = true
		}
	}
	if !found {
		t.Errorf("a CSV without spec.install passed the default bundle validators (errors: %v)", errs)
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		target := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
