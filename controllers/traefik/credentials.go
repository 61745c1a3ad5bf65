package traefik

import (
	"context"
	"crypto/rand"
	"fmt"

	"golang.org/x/crypto/bcrypt"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/internal/apply"
)

const (
	// GeneratedSecretName is the Secret wharf creates in the Traefik
	// namespace when the dashboard has no basicAuth.secretName.
	GeneratedSecretName = "traefik-dashboard-auth"
	// GeneratedUser is the user name in the generated Secret.
	GeneratedUser = "admin"
	// GeneratedUsersKey holds the htpasswd line (bcrypt) of the generated
	// user, for use outside Traefik; Traefik itself reads username and
	// password, as the Secret has type kubernetes.io/basic-auth.
	GeneratedUsersKey = "users"
)

// credentials are a generated user, its password and its htpasswd line.
type credentials struct {
	user     string
	password string
	htpasswd string
}

// newCredentials draws a password of 26 characters (130 bits) from
// crypto/rand and hashes it with bcrypt.
func newCredentials(user string) (credentials, error) {
	password := rand.Text()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return credentials{}, fmt.Errorf("hash the dashboard password: %w", err)
	}
	return credentials{user: user, password: password, htpasswd: user + ":" + string(hash) + "\n"}, nil
}

// data is what the generated Secret holds for c.
func (c credentials) data() map[string][]byte {
	return map[string][]byte{
		corev1.BasicAuthUsernameKey: []byte(c.user),
		corev1.BasicAuthPasswordKey: []byte(c.password),
		GeneratedUsersKey:           []byte(c.htpasswd),
	}
}

// generatedSecret is the generated Secret holding data. It has no owner
// reference: deleting the ClusterNetworking or its CRD must not delete
// what Traefik uses (disabling Traefik, or the Delete policy, prunes it).
func generatedSecret(cn *v1alpha1.ClusterNetworking, data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      GeneratedSecretName,
			Namespace: cn.Spec.Traefik.Namespace,
			Labels: map[string]string{
				"app.kubernetes.io/name":      "traefik",
				"app.kubernetes.io/component": "dashboard",
			},
			Annotations: map[string]string{
				"networking.wharf.dev/description": "Traefik dashboard user, generated once by wharf. " +
					"Delete this Secret to get a new password.",
			},
		},
		Type: corev1.SecretTypeBasicAuth,
		Data: data,
	}
}

// dashboardSecret is the Secret the dashboard uses and whether wharf
// generates it.
func dashboardSecret(spec *v1alpha1.TraefikSpec) (name string, generated bool) {
	if ba := spec.Dashboard.BasicAuth; ba != nil && ba.SecretName != "" {
		return ba.SecretName, false
	}
	return GeneratedSecretName, true
}

// dashboardFacts reads the dashboard's Secret into f. The generated one is
// rendered with what it holds in the cluster, so its password survives
// reconciles and restarts; when it does not exist, new credentials are
// drawn for it (once applied, they are what it holds). A Secret of the
// generated name that wharf did not create is used as it is, not
// rendered. A Secret that is missing (the user's) or unusable is a
// problem in f: the dashboard is then not rendered. The error is for
// failures to retry.
func (c *Component) dashboardFacts(ctx context.Context, cn *v1alpha1.ClusterNetworking, f *facts) error {
	spec := &cn.Spec.Traefik
	name, generated := dashboardSecret(spec)
	f.dashboardSecret = name
	key := client.ObjectKey{Namespace: spec.Namespace, Name: name}
	s := &corev1.Secret{}
	switch err := c.deps.Reader.Get(ctx, key, s); {
	case apierrors.IsNotFound(err) && generated:
		creds, err := newCredentials(GeneratedUser)
		if err != nil {
			return err
		}
		f.generated, f.drawn = generatedSecret(cn, creds.data()), true
		f.in.DashboardSecret = name
		return nil
	case apierrors.IsNotFound(err):
		f.dashboardProblem = fmt.Errorf("secret %s does not exist; create it with htpasswd lines under one key, "+
			"or remove basicAuth.secretName to let wharf generate one", key)
		return nil
	case err != nil:
		return fmt.Errorf("read Secret %s: %w", key, err)
	}
	if generated && apply.IsWharfs(s.Labels) && s.Labels[apply.ComponentLabel] == componentName {
		f.generated = generatedSecret(cn, s.Data)
	}
	if err := ValidateDashboardSecret(s); err != nil {
		f.dashboardProblem = fmt.Errorf("secret %s: %w", key, err)
		return nil
	}
	f.in.DashboardSecret = name
	return nil
}
