#include "engine/indexed_heap.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "common/random.h"

namespace baton::engine {
namespace {

struct Item {
  int key;
  int32_t pos = -1;
};
struct ItemLess {
  bool operator()(const Item* a, const Item* b) const { return a->key < b->key; }
};
struct ItemPos {
  int32_t& operator()(Item* i) const { return i->pos; }
};
using Heap = IndexedHeap<Item*, ItemLess, ItemPos>;

TEST(IndexedHeapTest, PopsInOrderAndRemovesAnywhere) {
  Random rng(5);
  std::vector<std::unique_ptr<Item>> items;
  Heap heap;
  for (int i = 0; i < 1000; ++i) {
    items.push_back(std::make_unique<Item>(Item{static_cast<int>(rng.Below(500))}));
    heap.Push(items.back().get());
  }
  // Remove every third item from wherever it sits, then re-key some others.
  std::vector<int> kept;
  for (size_t i = 0; i < items.size(); ++i) {
    Item* it = items[i].get();
    ASSERT_GE(it->pos, 0);
    ASSERT_EQ(heap.at(it->pos), it);
    if (i % 3 == 0) {
      heap.RemoveAt(it->pos);
      EXPECT_EQ(it->pos, -1);
      continue;
    }
    if (i % 5 == 0) {
      it->key = static_cast<int>(rng.Below(500));
      heap.Fix(it->pos);
    }
    kept.push_back(it->key);
  }
  std::sort(kept.begin(), kept.end());
  std::vector<int> popped;
  while (!heap.empty()) popped.push_back(heap.Pop()->key);
  EXPECT_EQ(popped, kept);
}

}  // namespace
}  // namespace baton::engine
