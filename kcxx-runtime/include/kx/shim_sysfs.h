/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The sysfs part of the C/C++ boundary (shim/sysfs.c): a class, devices in
 * it, kobject directories, symlinks, and attribute groups that dispatch to
 * C++. Same rules as kx/shim.h, which includes this header at its end.
 *
 * How an attribute reaches C++:
 *  - The module's C file declares its attributes and groups with the
 *    KX_DEV_ATTR_* / KX_KOBJ_ATTR_* macros below (C only), e.g.
 *    `static KX_KOBJ_ATTR_WO(remove, FOO_ATTR_REMOVE);`. Each attribute
 *    carries an integer id (an enum shared by the module's C and C++), and
 *    its show/store are the shim's generic trampolines.
 *  - A device's drvdata, or a kx kobject's target, points to a
 *    struct kx_sysfs_target embedded in the C++ object: the trampoline calls
 *    target->show(obj, id, buf) or target->store(obj, id, buf, len, self).
 *    They return the byte count or a negative errno.
 *  - store runs with a reference on the module (try_module_get; -ENODEV once
 *    the module is going), so a store that removes its own file and then its
 *    whole object (kx_sysfs_remove_self) cannot race with module unload.
 *
 * Lifetimes: kobjects made here are allocated by the shim and freed by their
 * release when the last reference goes; C++ holds only a handle and calls
 * kx_kobject_remove (kobject_del + kobject_put). kobject_del / device
 * unregistration wait for running show/store calls on that object, except
 * for a store that has already removed its own file.
 *
 * Context: show and store run in process context (they may sleep, take a
 * Mutex). Everything here is process context unless marked.
 */
#ifndef KX_SHIM_SYSFS_H
#define KX_SHIM_SYSFS_H

#include <kx/shim.h>

/* ---- opaque handles ------------------------------------------------------- */
struct kx_class;        /* struct class */
struct kx_device;       /* struct device */
struct kx_kobject;      /* struct kobject */
struct kx_attribute;    /* struct attribute */
struct kx_attr_group;   /* struct attribute_group, declared in the module's C file */

/* ---- mirrored constants --------------------------------------------------- */
enum kx_kobj_action { /* enum kobject_action */
	KX_KOBJ_ADD = 0,
	KX_KOBJ_REMOVE = 1,
	KX_KOBJ_CHANGE = 2,
	KX_KOBJ_MOVE = 3,
	KX_KOBJ_ONLINE = 4,
	KX_KOBJ_OFFLINE = 5,
};

/* ---- plain structs --------------------------------------------------------- */
/* The file a store is writing to, for kx_sysfs_remove_self. Valid during the store. */
struct kx_sysfs_self {
	struct kx_kobject *kobj;          /* the directory (a device's own kobject for device attributes) */
	const struct kx_attribute *attr;
};

/* Where an object's attributes go. Embedded in the C++ object; must outlive its sysfs files. */
struct kx_sysfs_target {
	/* buf is one page; returns bytes written (kx_sysfs_emit) or -errno. */
	long (*show)(void *obj, int id, char *buf);
	/* buf is NUL-terminated, len bytes; returns len (consumed) or -errno. */
	long (*store)(void *obj, int id, const char *buf, kx_usize len,
		      const struct kx_sysfs_self *self);
	void *obj;
};

/* ---- class and devices ----------------------------------------------------- */
/* class_create(THIS_MODULE, name); lock_key from the C++ call site. */
KX_EXTERN_C int kx_class_create(const char *name, void *lock_key, struct kx_class **out) KX_NOEXCEPT;
KX_EXTERN_C void kx_class_destroy(struct kx_class *cls) KX_NOEXCEPT;
/*
 * device_create_with_groups(cls, parent, MKDEV(0, 0), target, groups, "%s",
 * name): /sys/class/<cls>/<name> with the attribute groups (NULL-terminated
 * array, KX_DEV_ATTR_* attributes) dispatching to target. parent may be NULL.
 */
KX_EXTERN_C int kx_device_create(struct kx_class *cls, struct kx_device *parent,
				 struct kx_sysfs_target *target,
				 const struct kx_attr_group *const *groups, const char *name,
				 struct kx_device **out) KX_NOEXCEPT;
/* device_unregister: removes the attributes (waiting for running ones) and the device. */
KX_EXTERN_C void kx_device_unregister(struct kx_device *dev) KX_NOEXCEPT;
KX_EXTERN_C struct kx_kobject *kx_device_kobj(struct kx_device *dev) KX_NOEXCEPT;        /* any */

/* ---- kobject directories ------------------------------------------------------ */
/* A plain directory (e.g. for symlinks): kx_kobject_create without target or groups. */
KX_EXTERN_C int kx_kobject_create_dir(const char *name, struct kx_kobject *parent,
				      struct kx_kobject **out) KX_NOEXCEPT;
/*
 * A directory whose attribute groups (NULL-terminated, KX_KOBJ_ATTR_*)
 * dispatch to target: kobject_init_and_add + sysfs_create_groups. No uevent
 * (kx_kobject_uevent when wanted).
 */
KX_EXTERN_C int kx_kobject_create(const char *name, struct kx_kobject *parent,
				  struct kx_sysfs_target *target,
				  const struct kx_attr_group *const *groups,
				  struct kx_kobject **out) KX_NOEXCEPT;
/* kobject_del + kobject_put: the directory is gone (and no show/store runs) on return. */
KX_EXTERN_C void kx_kobject_remove(struct kx_kobject *kobj) KX_NOEXCEPT;
KX_EXTERN_C int kx_kobject_uevent(struct kx_kobject *kobj, int action) KX_NOEXCEPT;
/*
 * kobject_uevent_env: the action's uevent with extra "KEY=value" variables
 * (envp: NULL-terminated; the strings are copied before return). kobj must be
 * in sysfs (any registered kobject, e.g. kx_blk_disk_kobj of an added disk).
 * Process context: allocates with GFP_KERNEL and may run the uevent helper.
 */
KX_EXTERN_C int kx_kobject_uevent_env(struct kx_kobject *kobj, int action,
				      const char *const *envp) KX_NOEXCEPT;

/* ---- links, notification, self-removal ---------------------------------------- */
/* sysfs_create_link(dir, target, name): dir/name -> target's directory. */
KX_EXTERN_C int kx_sysfs_link_create(struct kx_kobject *dir, struct kx_kobject *target,
				     const char *name) KX_NOEXCEPT;
KX_EXTERN_C void kx_sysfs_link_remove(struct kx_kobject *dir, const char *name) KX_NOEXCEPT;
/* sysfs_notify(kobj, NULL, attr_name): wakes poll()ers of that attribute. Process. */
KX_EXTERN_C void kx_sysfs_notify(struct kx_kobject *kobj, const char *attr_name) KX_NOEXCEPT;
/*
 * sysfs_remove_file_self (what device_remove_file_self does): from inside a
 * store, remove that store's own file without waiting for the store itself;
 * the caller may then remove the directory and free the object. Returns 1 if
 * this call removed it, 0 if a concurrent removal won (that caller owns the
 * teardown).
 */
KX_EXTERN_C int kx_sysfs_remove_self(const struct kx_sysfs_self *self) KX_NOEXCEPT;

/* ---- formatting and parsing for show/store -------------------------------------- */
/* vscnprintf into a show buffer (one page): bytes written. Any. */
KX_EXTERN_C int kx_sysfs_emit(char *buf, const char *fmt, ...) KX_NOEXCEPT KX_PRINTF(2, 3);
/* vscnprintf: bytes written excluding the NUL (always terminated if size > 0). Any. */
KX_EXTERN_C int kx_scnprintf(char *buf, kx_usize size, const char *fmt, ...) KX_NOEXCEPT
	KX_PRINTF(3, 4);
/* kstrtou64 (one trailing newline allowed): 0, -EINVAL (not a number) or -ERANGE. Any. */
KX_EXTERN_C int kx_kstrtou64(const char *s, unsigned int base, kx_u64 *out) KX_NOEXCEPT;

/* ---- C side only: declaring attribute tables in the module's C file ------------- */
#ifndef __cplusplus
#include <linux/device.h>
#include <linux/kobject.h>
#include <linux/sysfs.h>

/* A device attribute with an id (show/store = the shim's trampolines). */
struct kx_dev_attr {
	struct device_attribute dattr;
	int id;
};

/* A kobject attribute with an id, for directories made by kx_kobject_create. */
struct kx_kobj_attr {
	struct kobj_attribute kattr;
	int id;
};

ssize_t kx_sysfs_dev_show(struct device *dev, struct device_attribute *attr, char *buf);
ssize_t kx_sysfs_dev_store(struct device *dev, struct device_attribute *attr, const char *buf,
			   size_t count);
ssize_t kx_sysfs_kobj_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf);
ssize_t kx_sysfs_kobj_store(struct kobject *kobj, struct kobj_attribute *attr, const char *buf,
			    size_t count);

#define KX_DEV_ATTR_(_name, _mode, _show, _store, _id)                                   \
	struct kx_dev_attr kx_dev_attr_##_name = {                                        \
		.dattr = __ATTR(_name, _mode, _show, _store), .id = (_id) }
/* 0444 read-only, 0200 write-only, 0644 read-write. */
#define KX_DEV_ATTR_RO(_name, _id) KX_DEV_ATTR_(_name, 0444, kx_sysfs_dev_show, NULL, _id)
#define KX_DEV_ATTR_WO(_name, _id) KX_DEV_ATTR_(_name, 0200, NULL, kx_sysfs_dev_store, _id)
#define KX_DEV_ATTR_RW(_name, _id) \
	KX_DEV_ATTR_(_name, 0644, kx_sysfs_dev_show, kx_sysfs_dev_store, _id)

#define KX_KOBJ_ATTR_(_name, _mode, _show, _store, _id)                                  \
	struct kx_kobj_attr kx_kobj_attr_##_name = {                                      \
		.kattr = __ATTR(_name, _mode, _show, _store), .id = (_id) }
#define KX_KOBJ_ATTR_RO(_name, _id) KX_KOBJ_ATTR_(_name, 0444, kx_sysfs_kobj_show, NULL, _id)
#define KX_KOBJ_ATTR_WO(_name, _id) KX_KOBJ_ATTR_(_name, 0200, NULL, kx_sysfs_kobj_store, _id)
#define KX_KOBJ_ATTR_RW(_name, _id) \
	KX_KOBJ_ATTR_(_name, 0644, kx_sysfs_kobj_show, kx_sysfs_kobj_store, _id)

/* For the group's .attrs array. */
#define KX_DEV_ATTR_PTR(_name) (&kx_dev_attr_##_name.dattr.attr)
#define KX_KOBJ_ATTR_PTR(_name) (&kx_kobj_attr_##_name.kattr.attr)
/* An attribute_group *[] as the opaque type C++ passes back. */
#define KX_ATTR_GROUPS(_groups) ((const struct kx_attr_group *const *)(_groups))
#endif /* !__cplusplus */

#endif /* KX_SHIM_SYSFS_H */
