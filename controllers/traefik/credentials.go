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

// generatedSecret is the Secret holding creds. It has no owner reference:
// deleting the ClusterNetworking or its CRD must not delete what Traefik
// uses (disabling Traefik, or the Delete policy, removes it).
func generatedSecret(cn *v1alpha1.ClusterNetworking, creds credentials) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      GeneratedSecretName,
			Namespace: cn.Spec.Traefik.Namespace,
			Labels: map[string]string{
				apply.ManagedByLabel:          apply.ManagedByValue,
				apply.ComponentLabel:          componentName,
				"app.kubernetes.io/name":      "traefik",
				"app.kubernetes.io/component": "dashboard",
			},
			Annotations: map[string]string{
				"networking.wharf.dev/description": "Traefik dashboard user, generated once by wharf. " +
					"Delete this Secret to get a new password.",
			},
		},
		Type: corev1.SecretTypeBasicAuth,
		Data: map[string][]byte{
			corev1.BasicAuthUsernameKey: []byte(creds.user),
			corev1.BasicAuthPasswordKey: []byte(creds.password),
			GeneratedUsersKey:           []byte(creds.htpasswd),
		},
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

// ensureDashboardSecret returns the name of the dashboard's Secret and,
// when it is missing or unusable, why (problem). A generated Secret that
// does not exist is created, once: an existing one is never rewritten, so
// its password survives reconciles and restarts. err is for failures to
// retry.
func (c *Component) ensureDashboardSecret(ctx context.Context, cn *v1alpha1.ClusterNetworking) (name string, problem, err error) {
	spec := &cn.Spec.Traefik
	name, generated := dashboardSecret(spec)
	if generated {
		c.secretGoneFrom.Store(nil)
	}
	key := client.ObjectKey{Namespace: spec.Namespace, Name: name}
	s := &corev1.Secret{}
	err = c.deps.Reader.Get(ctx, key, s)
	switch {
	case apierrors.IsNotFound(err) && generated:
		if s, err = c.createGeneratedSecret(ctx, cn); err != nil {
			return name, nil, err
		}
	case apierrors.IsNotFound(err):
		return name, fmt.Errorf("secret %s does not exist; create it with htpasswd lines under one key, "+
			"or remove basicAuth.secretName to let wharf generate one", key), nil
	case err != nil:
		return name, nil, fmt.Errorf("read Secret %s: %w", key, err)
	}
	if err := ValidateDashboardSecret(s); err != nil {
		return name, fmt.Errorf("secret %s: %w", key, err), nil
	}
	return name, nil, nil
}

// createGeneratedSecret creates the generated Secret, or returns the one
// that appeared in the meantime.
func (c *Component) createGeneratedSecret(ctx context.Context, cn *v1alpha1.ClusterNetworking) (*corev1.Secret, error) {
	creds, err := newCredentials(GeneratedUser)
	if err != nil {
		return nil, err
	}
	s := generatedSecret(cn, creds)
	err = c.deps.Client.Create(ctx, s, client.FieldOwner(fieldManager))
	if apierrors.IsAlreadyExists(err) {
		existing := &corev1.Secret{}
		if err := c.deps.Reader.Get(ctx, client.ObjectKeyFromObject(s), existing); err != nil {
			return nil, fmt.Errorf("read Secret %s: %w", client.ObjectKeyFromObject(s), err)
		}
		return existing, nil
	}
	if err != nil {
		return nil, fmt.Errorf("create Secret %s: %w", client.ObjectKeyFromObject(s), err)
	}
	c.event(cn, corev1.EventTypeNormal, "DashboardSecretCreated", "Create",
		"generated the Traefik dashboard user %s in Secret %s/%s", creds.user, s.Namespace, s.Name)
	return s, nil
}

// deleteGeneratedSecret removes the generated Secret if wharf made it.
func (c *Component) deleteGeneratedSecret(ctx context.Context, cn *v1alpha1.ClusterNetworking) error {
	key := client.ObjectKey{Namespace: cn.Spec.Traefik.Namespace, Name: GeneratedSecretName}
	if gone := c.secretGoneFrom.Load(); gone != nil && *gone == key.Namespace {
		return nil
	}
	s := &metav1.PartialObjectMetadata{}
	s.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	err := c.deps.Reader.Get(ctx, key, s)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("read Secret %s: %w", key, err)
	case s.Labels[apply.ManagedByLabel] != apply.ManagedByValue || s.Labels[apply.ComponentLabel] != componentName:
		// Not the one wharf generated: the user's to keep.
	default:
		if err := c.deps.Client.Delete(ctx, s); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete Secret %s: %w", key, err)
		}
	}
	c.secretGoneFrom.Store(&key.Namespace)
	return nil
}
