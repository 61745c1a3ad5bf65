// Command bundlegen writes wharf's OLM bundle (registry+v1 format) from the
// rendered install manifests, the base ClusterServiceVersion in
// config/manifests and the sample in config/samples:
//
//	bundle/manifests/   the ClusterServiceVersion, the CRD and the objects
//	                    OLM installs as they are (metrics Service, metrics
//	                    reader ClusterRole)
//	bundle/metadata/annotations.yaml
//	bundle/tests/scorecard/config.yaml
//	bundle.Dockerfile
//
// hack/bundle.sh runs it after rendering config/default; `make bundle` runs
// hack/bundle.sh. The output depends only on the inputs (no timestamps), so
// a test can regenerate it and compare.
package main

import (
	"flag"
	"fmt"
	"os"
)

type options struct {
	version        string // bundle version, semver without "v"
	install        string // rendered config/default
	root           string // repository root, where the inputs are
	out            string // receives bundle/ and bundle.Dockerfile
	pkg            string
	channels       string
	defaultChannel string
	scorecardImage string
}

func main() {
	var o options
	flag.StringVar(&o.version, "version", "", "bundle version, semver without a leading v (e.g. 0.1.0)")
	flag.StringVar(&o.install, "install", "", "the rendered install manifests (hack/build-installer.sh output)")
	flag.StringVar(&o.root, "root", ".", "repository root, where config/ is read from")
	flag.StringVar(&o.out, "out", ".", "directory that receives bundle/ and bundle.Dockerfile")
	flag.StringVar(&o.pkg, "package", "wharf", "OLM package name")
	flag.StringVar(&o.channels, "channels", "alpha", "comma-separated channels of the bundle")
	flag.StringVar(&o.defaultChannel, "default-channel", "alpha", "default channel of the package")
	flag.StringVar(&o.scorecardImage, "scorecard-image", "quay.io/operator-framework/scorecard-test:v1.39.1",
		"image of the scorecard tests")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bundlegen: error:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if o.version == "" || o.install == "" {
		return fmt.Errorf("--version and --install are required")
	}
	objs, err := readObjects(o.install)
	if err != nil {
		return err
	}
	inst, err := classify(objs)
	if err != nil {
		return err
	}
	csv, err := buildCSV(o, inst)
	if err != nil {
		return err
	}
	return writeBundle(o, csv, inst)
}
