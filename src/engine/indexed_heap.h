// IndexedHeap: a binary heap whose elements know their own position, so that any element can be
// removed or re-keyed in O(log n) without a search and without leaving stale entries behind.
// `Pos(item)` returns a reference to the int32_t where the heap keeps the item's index (-1 when
// the item is not in the heap). Thread rules: none; owned by the engine thread.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "common/status.h"

namespace baton::engine {

template <typename T, typename Less, typename Pos>
class IndexedHeap {
 public:
  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  const T& top() const { return items_.front(); }

  void Push(T item) {
    items_.push_back(std::move(item));
    SetPos(items_.size() - 1);
    SiftUp(items_.size() - 1);
  }

  T Pop() {
    BATON_CHECK(!items_.empty());
    return RemoveAt(0);
  }

  // Removes the item at `pos` (the value Pos() holds for it).
  T RemoveAt(size_t pos) {
    BATON_CHECK(pos < items_.size());
    T out = std::move(items_[pos]);
    Pos{}(out) = -1;
    if (pos + 1 != items_.size()) {
      items_[pos] = std::move(items_.back());
      items_.pop_back();
      SetPos(pos);
      if (!SiftUp(pos)) SiftDown(pos);
    } else {
      items_.pop_back();
    }
    return out;
  }

  // Restores order after the key of the item at `pos` changed.
  void Fix(size_t pos) {
    if (!SiftUp(pos)) SiftDown(pos);
  }

  T& at(size_t pos) { return items_[pos]; }

 private:
  void SetPos(size_t i) { Pos{}(items_[i]) = static_cast<int32_t>(i); }

  bool SiftUp(size_t i) {
    bool moved = false;
    while (i > 0) {
      size_t parent = (i - 1) / 2;
      if (!Less{}(items_[i], items_[parent])) break;
      std::swap(items_[i], items_[parent]);
      SetPos(i);
      SetPos(parent);
      i = parent;
      moved = true;
    }
    return moved;
  }

  void SiftDown(size_t i) {
    const size_t n = items_.size();
    for (;;) {
      size_t best = i;
      size_t l = 2 * i + 1, r = l + 1;
      if (l < n && Less{}(items_[l], items_[best])) best = l;
      if (r < n && Less{}(items_[r], items_[best])) best = r;
      if (best == i) break;
      std::swap(items_[i], items_[best]);
      SetPos(i);
      SetPos(best);
      i = best;
    }
  }

  std::vector<T> items_;
};

}  // namespace baton::engine
