/* SPDX-License-Identifier: GPL-2.0 */
// Intrusive doubly-linked list (the kernel's list_head, typed).
//
// The node lives inside the element, so insertion and removal never allocate
// and work under spinlocks; removal is O(1) given the element. An element can
// sit on several lists at once with one ListNode member per list, selected by
// the member pointer:
//
//   struct Request { kx::ListNode pending_node; kx::ListNode path_node; };
//   kx::List<Request, &Request::pending_node> pending_;
//
// Lists do not own their elements and do no locking: the owner states which
// lock protects each list.
#pragma once

#include <kx/types.h>

namespace kx {

class ListNode {
 public:
  ListNode() : prev_(this), next_(this) {}
  // A node must be off every list when destroyed.
  ~ListNode() { KX_ASSERT(!linked()); }
  KX_PINNED(ListNode);

  bool linked() const { return next_ != this; }

 private:
  template <typename T, ListNode T::*> friend class List;
  void insert_between(ListNode* prev, ListNode* next) {
    next->prev_ = this;
    next_ = next;
    prev_ = prev;
    prev->next_ = this;
  }
  void unlink() {
    prev_->next_ = next_;
    next_->prev_ = prev_;
    prev_ = next_ = this;
  }
  ListNode* prev_;
  ListNode* next_;
};

template <typename T, ListNode T::*Node>
class List {
 public:
  List() = default;
  // Destroying a non-empty list would leave dangling nodes.
  ~List() { KX_ASSERT(empty()); }
  KX_PINNED(List);

  bool empty() const { return !head_.linked(); }
  usize size() const {
    usize n = 0;
    for (const ListNode* p = head_.next_; p != &head_; p = p->next_) n++;
    return n;
  }

  void push_back(T& item) {
    ListNode& n = item.*Node;
    KX_BUG_ON(n.linked());
    n.insert_between(head_.prev_, &head_);
  }
  void push_front(T& item) {
    ListNode& n = item.*Node;
    KX_BUG_ON(n.linked());
    n.insert_between(&head_, head_.next_);
  }
  // item must be on this list.
  void remove(T& item) { (item.*Node).unlink(); }
  static bool contains_node(const T& item) { return (item.*Node).linked(); }

  T* front() { return empty() ? nullptr : to_item(head_.next_); }
  T* back() { return empty() ? nullptr : to_item(head_.prev_); }
  T* pop_front() {
    T* item = front();
    if (item) remove(*item);
    return item;
  }
  // Moves every element of other to the end of this list.
  void splice_back(List& other) {
    while (T* item = other.pop_front()) push_back(*item);
  }

  class Iterator {
   public:
    explicit Iterator(ListNode* n) : node_(n) {}
    T& operator*() const { return *to_item(node_); }
    T* operator->() const { return to_item(node_); }
    Iterator& operator++() {
      node_ = node_->next_;
      return *this;
    }
    bool operator==(const Iterator& o) const { return node_ == o.node_; }

   private:
    ListNode* node_;
  };
  // Plain iteration: the loop body must not remove the current element
  // (use for_each_safe for that).
  Iterator begin() { return Iterator(head_.next_); }
  Iterator end() { return Iterator(&head_); }

  // Calls fn(T&) on each element; fn may remove (or free) that element.
  template <typename Fn>
  void for_each_safe(Fn&& fn) {
    for (ListNode *p = head_.next_, *next = p->next_; p != &head_; p = next, next = p->next_)
      fn(*to_item(p));
  }

 private:
  static T* to_item(ListNode* n) { return container_of(n, Node); }
  ListNode head_;
};

}  // namespace kx
