// Package apply applies rendered objects with server-side apply under one
// field manager, records what it applied as an inventory, and prunes what
// left the rendered set.
//
// An Applier remembers, per object, what it last applied and the fields
// its manager owned afterwards. When the desired object and the owned
// fields are both unchanged it sends nothing, so a reconcile with nothing to
// change makes no write. A hand edit of a field wharf owns moves that field
// to another manager; the change in the owned fields is seen and the object
// is applied again, which reverts the edit. Each applied object carries a
// digest of what was applied in an annotation, so a restarted manager does
// not apply again what is current and untouched since.
package apply
