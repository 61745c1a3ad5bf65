package cluster

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// frontProxyClientName is the identity the API server's aggregator presents
// to extension API servers.
const frontProxyClientName = "front-proxy-client"

// keyPair is a certificate with its private key, both PEM encoded.
type keyPair struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
	keyPEM  []byte
}

// certRequest describes a certificate to issue.
type certRequest struct {
	commonName    string
	organizations []string
	dnsNames      []string
	ips           []net.IP
	server        bool
	client        bool
}

// pki holds the paths of every credential a cluster uses.
type pki struct {
	dir                                  string
	caCert, caKey                        string
	servingCert, servingKey              string // kube-apiserver, controller-manager and scheduler
	adminCert, adminKey                  string // system:masters
	kcmCert, kcmKey                      string // system:kube-controller-manager
	schedulerCert, schedulerKey          string // system:kube-scheduler
	serviceAccountKey, serviceAccountPub string // token signing key pair
	frontProxyCACert                     string // request header authentication
	frontProxyCert, frontProxyKey        string // aggregator -> extension API servers
	ca, admin, kcm, scheduler            *keyPair
}

// newPKI generates a CA, serving and client certificates and the service
// account signing key under dir.
func newPKI(dir string) (*pki, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create pki dir: %w", err)
	}
	p := &pki{
		dir:               dir,
		caCert:            filepath.Join(dir, "ca.crt"),
		caKey:             filepath.Join(dir, "ca.key"),
		servingCert:       filepath.Join(dir, "serving.crt"),
		servingKey:        filepath.Join(dir, "serving.key"),
		adminCert:         filepath.Join(dir, "admin.crt"),
		adminKey:          filepath.Join(dir, "admin.key"),
		kcmCert:           filepath.Join(dir, "controller-manager.crt"),
		kcmKey:            filepath.Join(dir, "controller-manager.key"),
		schedulerCert:     filepath.Join(dir, "scheduler.crt"),
		schedulerKey:      filepath.Join(dir, "scheduler.key"),
		serviceAccountKey: filepath.Join(dir, "sa.key"),
		serviceAccountPub: filepath.Join(dir, "sa.pub"),
		frontProxyCACert:  filepath.Join(dir, "front-proxy-ca.crt"),
		frontProxyCert:    filepath.Join(dir, "front-proxy-client.crt"),
		frontProxyKey:     filepath.Join(dir, "front-proxy-client.key"),
	}
	var err error
	if p.ca, err = newCA("wharf-test-cluster-ca"); err != nil {
		return nil, err
	}
	serving, err := p.ca.issue(certRequest{
		commonName: "kube-apiserver",
		dnsNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
			"kubernetes.default.svc." + ClusterDomain},
		ips:    []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback, net.ParseIP(KubernetesServiceIP)},
		server: true,
	})
	if err != nil {
		return nil, err
	}
	if p.admin, err = p.ca.issue(certRequest{commonName: "wharf-admin", organizations: []string{"system:masters"}, client: true}); err != nil {
		return nil, err
	}
	if p.kcm, err = p.ca.issue(certRequest{commonName: "system:kube-controller-manager", client: true}); err != nil {
		return nil, err
	}
	if p.scheduler, err = p.ca.issue(certRequest{commonName: "system:kube-scheduler", client: true}); err != nil {
		return nil, err
	}
	frontProxyCA, err := newCA("wharf-front-proxy-ca")
	if err != nil {
		return nil, err
	}
	frontProxy, err := frontProxyCA.issue(certRequest{commonName: frontProxyClientName, client: true})
	if err != nil {
		return nil, err
	}
	saKey, saPub, err := newServiceAccountKey()
	if err != nil {
		return nil, err
	}
	files := []struct {
		path string
		data []byte
	}{
		{p.caCert, p.ca.certPEM}, {p.caKey, p.ca.keyPEM},
		{p.servingCert, serving.certPEM}, {p.servingKey, serving.keyPEM},
		{p.adminCert, p.admin.certPEM}, {p.adminKey, p.admin.keyPEM},
		{p.kcmCert, p.kcm.certPEM}, {p.kcmKey, p.kcm.keyPEM},
		{p.schedulerCert, p.scheduler.certPEM}, {p.schedulerKey, p.scheduler.keyPEM},
		{p.serviceAccountKey, saKey}, {p.serviceAccountPub, saPub},
		{p.frontProxyCACert, frontProxyCA.certPEM},
		{p.frontProxyCert, frontProxy.certPEM}, {p.frontProxyKey, frontProxy.keyPEM},
	}
	for _, f := range files {
		if err := os.WriteFile(f.path, f.data, 0o600); err != nil {
			return nil, fmt.Errorf("write %s: %w", f.path, err)
		}
	}
	return p, nil
}

func newCA(commonName string) (*keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ca key: %w", err)
	}
	tmpl, err := certTemplate(commonName, nil)
	if err != nil {
		return nil, err
	}
	tmpl.IsCA = true
	tmpl.BasicConstraintsValid = true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create ca certificate: %w", err)
	}
	return encodeKeyPair(der, key)
}

// issue signs a new certificate with the receiver, which must be a CA.
func (ca *keyPair) issue(req certRequest) (*keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key for %s: %w", req.commonName, err)
	}
	tmpl, err := certTemplate(req.commonName, req.organizations)
	if err != nil {
		return nil, err
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	tmpl.DNSNames = req.dnsNames
	tmpl.IPAddresses = req.ips
	if req.server {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	if req.client {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return nil, fmt.Errorf("sign certificate for %s: %w", req.commonName, err)
	}
	return encodeKeyPair(der, key)
}

func certTemplate(commonName string, organizations []string) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("generate serial number: %w", err)
	}
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: commonName, Organization: organizations},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(365 * 24 * time.Hour),
	}, nil
}

func encodeKeyPair(der []byte, key *ecdsa.PrivateKey) (*keyPair, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal key: %w", err)
	}
	return &keyPair{
		cert:    cert,
		key:     key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// newServiceAccountKey returns an RSA key pair (private PKCS#1, public PKIX)
// for signing service account tokens.
func newServiceAccountKey() (private, public []byte, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, fmt.Errorf("generate service account key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, nil, fmt.Errorf("marshal service account public key: %w", err)
	}
	private = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	public = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	return private, public, nil
}
