/* SPDX-License-Identifier: GPL-2.0 */
// sysfs for C++ objects: a class, devices in it, kobject directories,
// symlinks, and attribute dispatch, over the shim in kx/shim_sysfs.h.
//
// The attribute tables stay in the module's C file (KX_DEV_ATTR_RW(name, id),
// KX_KOBJ_ATTR_WO(name, id), attribute_group arrays); C++ gets the groups as
// `const kx_attr_group* const*` and ids as an enum shared with the C file.
// An object that owns sysfs files embeds a Target and implements:
//
//   // Process context. buf is one page: kx_sysfs_emit(buf, "%u\n", v).
//   // Returns bytes written or -errno.
//   long sysfs_show(int id, char* buf);
//   // Process context; may sleep and take Mutexes. buf is NUL-terminated.
//   // Returns len (all consumed) or -errno. Runs with a module reference.
//   long sysfs_store(int id, const char* buf, usize len, sysfs::SelfFile self);
//
// (sysfs_show may be left out if every attribute is write-only.)
//
// Lifetime rules:
//  - A Target must outlive the files that dispatch to it: remove the Device
//    or KObject (which waits for running show/store calls) before
//    destroying the owner.
//  - A store that deletes its own directory (e.g. "remove", "unmap_device")
//    first calls self.remove() (sysfs_remove_file_self), then tears down,
//    including the KObject holding that file and the owner itself. Removing
//    the directory without that first step would wait for the running store
//    forever.
#pragma once

#include <kx/result.h>
#include <kx/shim.h>
#include <kx/shim_sysfs.h>
#include <kx/sync.h>
#include <kx/types.h>

namespace kx::sysfs {

// Length of a store() buffer without its trailing newlines, for logging what
// was written on one line: kx_err("... '%.*s'", sysfs::shown_len(buf), buf).
inline int shown_len(const char* buf) {
  int n = 0;
  while (buf[n]) n++;
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) n--;
  return n;
}

// The file a store is running for. Valid only during that store.
class SelfFile {
 public:
  explicit SelfFile(const kx_sysfs_self* s) : s_(s) {}
  // Removes this file without waiting for this store. true if this call
  // removed it; false if a concurrent removal won (and owns the teardown).
  bool remove() { return kx_sysfs_remove_self(s_) != 0; }
  kx_kobject* dir() const { return s_->kobj; }

 private:
  const kx_sysfs_self* s_;
};

template <typename Owner>
class Target {
 public:
  explicit Target(Owner* owner) : raw_{show_fn(), &store, owner} {}
  KX_PINNED(Target);
  kx_sysfs_target* get() { return &raw_; }

 private:
  static constexpr bool kHasShow = requires(Owner* o, char* b) { o->sysfs_show(0, b); };
  static constexpr auto show_fn() -> long (*)(void*, int, char*) {
    if constexpr (kHasShow)
      return &show;
    else
      return nullptr;
  }
  static long show(void* obj, int id, char* buf) {
    if constexpr (kHasShow)
      return static_cast<Owner*>(obj)->sysfs_show(id, buf);
    else
      return -EIO;
  }
  static long store(void* obj, int id, const char* buf, usize len, const kx_sysfs_self* self) {
    return static_cast<Owner*>(obj)->sysfs_store(id, buf, len, SelfFile(self));
  }
  kx_sysfs_target raw_;
};

// A device class (/sys/class/<name>). Owning handle.
class Class {
 public:
  Class() = default;
  // cls: lockdep class from KX_LOCK_CLASS at the call site.
  static Result<Class> create(const char* name, LockClass& cls) {
    kx_class* c = nullptr;
    KX_TRY(to_result(kx_class_create(name, cls.key, &c)));
    return Class(c);
  }
  Class(Class&& o) : cls_(exchange(o.cls_, nullptr)) {}
  Class& operator=(Class&& o) {
    if (this != &o) {
      reset();
      cls_ = exchange(o.cls_, nullptr);
    }
    return *this;
  }
  KX_NONCOPYABLE(Class);
  ~Class() { reset(); }

  kx_class* get() const { return cls_; }
  void reset() {
    if (cls_) kx_class_destroy(exchange(cls_, nullptr));
  }

 private:
  explicit Class(kx_class* c) : cls_(c) {}
  kx_class* cls_ = nullptr;
};

// A device in a class (/sys/class/<class>/<name>) whose attribute groups
// (KX_DEV_ATTR_*) dispatch to target. Owning handle; reset() unregisters,
// waiting for running show/store calls.
class Device {
 public:
  Device() = default;
  static Result<Device> create(Class& cls, kx_sysfs_target* target,
                               const kx_attr_group* const* groups, const char* name,
                               kx_device* parent = nullptr) {
    kx_device* d = nullptr;
    KX_TRY(to_result(kx_device_create(cls.get(), parent, target, groups, name, &d)));
    return Device(d);
  }
  Device(Device&& o) : dev_(exchange(o.dev_, nullptr)) {}
  Device& operator=(Device&& o) {
    if (this != &o) {
      reset();
      dev_ = exchange(o.dev_, nullptr);
    }
    return *this;
  }
  KX_NONCOPYABLE(Device);
  ~Device() { reset(); }

  kx_device* get() const { return dev_; }
  kx_kobject* kobject() const { return kx_device_kobj(dev_); }
  void reset() {
    if (dev_) kx_device_unregister(exchange(dev_, nullptr));
  }

 private:
  explicit Device(kx_device* d) : dev_(d) {}
  kx_device* dev_ = nullptr;
};

// A uevent (KX_KOBJ_ONLINE, KX_KOBJ_OFFLINE, KX_KOBJ_CHANGE, ...) on any
// registered kobject, also one we do not own (a gendisk's, blk::Disk::kobject),
// with extra "KEY=value" variables: envp is NULL-terminated, the kernel copies
// the strings. Process context (GFP_KERNEL, may run the uevent helper).
inline Result<void> uevent_env(kx_kobject* kobj, int action, const char* const* envp) {
  return to_result(kx_kobject_uevent_env(kobj, action, envp));
}

// A kobject directory. Owning handle; reset() removes it (kobject_del +
// put), waiting for running show/store calls except a self-removed store.
class KObject {
 public:
  KObject() = default;
  // A plain directory, e.g. to hold symlinks.
  static Result<KObject> create_dir(const char* name, kx_kobject* parent) {
    kx_kobject* k = nullptr;
    KX_TRY(to_result(kx_kobject_create_dir(name, parent, &k)));
    return KObject(k);
  }
  // A directory whose attribute groups (KX_KOBJ_ATTR_*) dispatch to target.
  static Result<KObject> create(const char* name, kx_kobject* parent, kx_sysfs_target* target,
                                const kx_attr_group* const* groups) {
    kx_kobject* k = nullptr;
    KX_TRY(to_result(kx_kobject_create(name, parent, target, groups, &k)));
    return KObject(k);
  }
  KObject(KObject&& o) : kobj_(exchange(o.kobj_, nullptr)) {}
  KObject& operator=(KObject&& o) {
    if (this != &o) {
      reset();
      kobj_ = exchange(o.kobj_, nullptr);
    }
    return *this;
  }
  KX_NONCOPYABLE(KObject);
  ~KObject() { reset(); }

  kx_kobject* get() const { return kobj_; }
  explicit operator bool() const { return kobj_ != nullptr; }
  // KX_KOBJ_ADD, KX_KOBJ_CHANGE, ...
  Result<void> uevent(int action) { return to_result(kx_kobject_uevent(kobj_, action)); }
  // The same with extra "KEY=value" variables (see sysfs::uevent_env).
  Result<void> uevent_env(int action, const char* const* envp) {
    return sysfs::uevent_env(kobj_, action, envp);
  }
  // Wakes poll()ers of attribute attr_name in this directory.
  void notify(const char* attr_name) { kx_sysfs_notify(kobj_, attr_name); }
  void reset() {
    if (kobj_) kx_kobject_remove(exchange(kobj_, nullptr));
  }

 private:
  explicit KObject(kx_kobject* k) : kobj_(k) {}
  kx_kobject* kobj_ = nullptr;
};

// A symlink dir/name -> target's directory. Owning handle (keeps a copy of
// the name); the directory must outlive it.
class Link {
 public:
  static constexpr usize kMaxName = 64;

  Link() = default;
  static Result<Link> create(kx_kobject* dir, kx_kobject* target, const char* name) {
    Link l;
    if (!l.copy_name(name)) return Error(-ENAMETOOLONG);
    KX_TRY(to_result(kx_sysfs_link_create(dir, target, l.name_)));
    l.dir_ = dir;
    return l;
  }
  Link(Link&& o) : dir_(exchange(o.dir_, nullptr)) { (void)copy_name(o.name_); }
  Link& operator=(Link&& o) {
    if (this != &o) {
      reset();
      dir_ = exchange(o.dir_, nullptr);
      (void)copy_name(o.name_);
    }
    return *this;
  }
  KX_NONCOPYABLE(Link);
  ~Link() { reset(); }

  const char* name() const { return name_; }
  void reset() {
    if (dir_) kx_sysfs_link_remove(exchange(dir_, nullptr), name_);
  }

 private:
  // false (name_ left empty) if src does not fit.
  bool copy_name(const char* src) {
    for (usize i = 0; i < kMaxName; i++)
      if (!(name_[i] = src[i])) return true;
    name_[0] = 0;
    return false;
  }
  kx_kobject* dir_ = nullptr;
  char name_[kMaxName] = {};
};

}  // namespace kx::sysfs
