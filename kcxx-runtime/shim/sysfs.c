// SPDX-License-Identifier: GPL-2.0
/*
 * kcxx shim: class, devices, kobject directories, symlinks, and the generic
 * show/store trampolines that take an attribute's id to the C++ object behind
 * a struct kx_sysfs_target (see kx/shim_sysfs.h). Plus the formatting and
 * parsing helpers show/store need. No policy here.
 */
#include <linux/device.h>
#include <linux/err.h>
#include <linux/kernel.h>
#include <linux/kobject.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <kx/shim_sysfs.h>

#define KX_SYSFS_SAME(a, b) static_assert((long)(a) == (long)(b), #a " != " #b)
KX_SYSFS_SAME(KX_KOBJ_ADD, KOBJ_ADD);
KX_SYSFS_SAME(KX_KOBJ_REMOVE, KOBJ_REMOVE);
KX_SYSFS_SAME(KX_KOBJ_CHANGE, KOBJ_CHANGE);
KX_SYSFS_SAME(KX_KOBJ_MOVE, KOBJ_MOVE);
KX_SYSFS_SAME(KX_KOBJ_ONLINE, KOBJ_ONLINE);
KX_SYSFS_SAME(KX_KOBJ_OFFLINE, KOBJ_OFFLINE);

/* ---- the trampolines ---------------------------------------------------------- */

static ssize_t kx_sysfs_show(struct kx_sysfs_target *t, int id, char *buf)
{
	if (!t || !t->show)
		return -EIO;
	return t->show(t->obj, id, buf);
}

/*
 * The module reference keeps the module (and so t and its code) alive for a
 * store that removes its own file and object: once that file is gone,
 * nothing else waits for this call. -ENODEV while the module is unloading.
 */
static ssize_t kx_sysfs_store(struct kx_sysfs_target *t, struct kobject *kobj,
			      const struct attribute *attr, int id, const char *buf, size_t count)
{
	struct kx_sysfs_self self = {
		.kobj = (struct kx_kobject *)kobj,
		.attr = (const struct kx_attribute *)attr,
	};
	ssize_t ret;

	if (!t || !t->store)
		return -EIO;
	if (!try_module_get(THIS_MODULE))
		return -ENODEV;
	ret = t->store(t->obj, id, buf, count, &self);
	module_put(THIS_MODULE);
	return ret;
}

ssize_t kx_sysfs_dev_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return kx_sysfs_show(dev_get_drvdata(dev), container_of(attr, struct kx_dev_attr, dattr)->id,
			     buf);
}

ssize_t kx_sysfs_dev_store(struct device *dev, struct device_attribute *attr, const char *buf,
			   size_t count)
{
	return kx_sysfs_store(dev_get_drvdata(dev), &dev->kobj, &attr->attr,
			      container_of(attr, struct kx_dev_attr, dattr)->id, buf, count);
}

/* A directory made by kx_kobject_create: the kobject and where its attributes go. */
struct kx_kobj {
	struct kobject kobj;
	struct kx_sysfs_target *target;
};

static void kx_kobj_release(struct kobject *kobj)
{
	kfree(container_of(kobj, struct kx_kobj, kobj));
}

static const struct kobj_type kx_kobj_ktype = {
	.sysfs_ops = &kobj_sysfs_ops,
	.release = kx_kobj_release,
};

/* NULL for a kobject that is not ours (a KX_KOBJ_ATTR put on a foreign directory). */
static struct kx_sysfs_target *kx_kobj_target(struct kobject *kobj)
{
	if (kobj->ktype != &kx_kobj_ktype)
		return NULL;
	return container_of(kobj, struct kx_kobj, kobj)->target;
}

ssize_t kx_sysfs_kobj_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return kx_sysfs_show(kx_kobj_target(kobj), container_of(attr, struct kx_kobj_attr, kattr)->id,
			     buf);
}

ssize_t kx_sysfs_kobj_store(struct kobject *kobj, struct kobj_attribute *attr, const char *buf,
			    size_t count)
{
	return kx_sysfs_store(kx_kobj_target(kobj), kobj, &attr->attr,
			      container_of(attr, struct kx_kobj_attr, kattr)->id, buf, count);
}

/* ---- class and devices ---------------------------------------------------------- */

int kx_class_create(const char *name, void *lock_key, struct kx_class **out)
{
	struct class *cls = __class_create(THIS_MODULE, name, lock_key);

	if (IS_ERR(cls))
		return PTR_ERR(cls);
	*out = (struct kx_class *)cls;
	return 0;
}

void kx_class_destroy(struct kx_class *cls)
{
	class_destroy((struct class *)cls);
}

int kx_device_create(struct kx_class *cls, struct kx_device *parent, struct kx_sysfs_target *target,
		     const struct kx_attr_group *const *groups, const char *name,
		     struct kx_device **out)
{
	struct device *dev;

	dev = device_create_with_groups((struct class *)cls, (struct device *)parent, MKDEV(0, 0),
					target, (const struct attribute_group **)groups, "%s", name);
	if (IS_ERR(dev))
		return PTR_ERR(dev);
	*out = (struct kx_device *)dev;
	return 0;
}

void kx_device_unregister(struct kx_device *dev)
{
	device_unregister((struct device *)dev);
}

struct kx_kobject *kx_device_kobj(struct kx_device *dev)
{
	return (struct kx_kobject *)&((struct device *)dev)->kobj;
}

/* ---- kobjects ----------------------------------------------------------------------- */

int kx_kobject_create(const char *name, struct kx_kobject *parent, struct kx_sysfs_target *target,
		      const struct kx_attr_group *const *groups, struct kx_kobject **out)
{
	struct kx_kobj *k = kzalloc(sizeof(*k), GFP_KERNEL);
	int ret;

	if (!k)
		return -ENOMEM;
	k->target = target;
	ret = kobject_init_and_add(&k->kobj, &kx_kobj_ktype, (struct kobject *)parent, "%s", name);
	if (ret) {
		kobject_put(&k->kobj);	/* frees k */
		return ret;
	}
	ret = sysfs_create_groups(&k->kobj, (const struct attribute_group **)groups);
	if (ret) {
		kx_kobject_remove((struct kx_kobject *)&k->kobj);
		return ret;
	}
	*out = (struct kx_kobject *)&k->kobj;
	return 0;
}

/* Our own ktype rather than kobject_create_and_add, which turns every error into NULL. */
int kx_kobject_create_dir(const char *name, struct kx_kobject *parent, struct kx_kobject **out)
{
	return kx_kobject_create(name, parent, NULL, NULL, out);
}

void kx_kobject_remove(struct kx_kobject *kobj)
{
	kobject_del((struct kobject *)kobj);
	kobject_put((struct kobject *)kobj);
}

int kx_kobject_uevent(struct kx_kobject *kobj, int action)
{
	return kobject_uevent((struct kobject *)kobj, action);
}

int kx_kobject_uevent_env(struct kx_kobject *kobj, int action, const char *const *envp)
{
	return kobject_uevent_env((struct kobject *)kobj, action, (char **)envp);
}

/* ---- links, notification, self-removal ------------------------------------------------ */

int kx_sysfs_link_create(struct kx_kobject *dir, struct kx_kobject *target, const char *name)
{
	return sysfs_create_link((struct kobject *)dir, (struct kobject *)target, name);
}

void kx_sysfs_link_remove(struct kx_kobject *dir, const char *name)
{
	sysfs_remove_link((struct kobject *)dir, name);
}

void kx_sysfs_notify(struct kx_kobject *kobj, const char *attr_name)
{
	sysfs_notify((struct kobject *)kobj, NULL, attr_name);
}

int kx_sysfs_remove_self(const struct kx_sysfs_self *self)
{
	return sysfs_remove_file_self((struct kobject *)self->kobj,
				      (const struct attribute *)self->attr);
}

/* ---- formatting and parsing --------------------------------------------------------------- */

int kx_sysfs_emit(char *buf, const char *fmt, ...)
{
	va_list args;
	int len;

	va_start(args, fmt);
	len = vscnprintf(buf, PAGE_SIZE, fmt, args);
	va_end(args);
	return len;
}

int kx_scnprintf(char *buf, kx_usize size, const char *fmt, ...)
{
	va_list args;
	int len;

	va_start(args, fmt);
	len = vscnprintf(buf, size, fmt, args);
	va_end(args);
	return len;
}

int kx_kstrtou64(const char *s, unsigned int base, kx_u64 *out)
{
	return kstrtou64(s, base, out);
}
