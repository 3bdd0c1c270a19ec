#include "corsair/containers/intrusive_list.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using corsair::containers::IntrusiveList;

namespace {

struct Node {
    std::string name;
    Node* prev = nullptr;
    Node* next = nullptr;
    Node* other_prev = nullptr;
    Node* other_next = nullptr;
};

using OtherList = IntrusiveList<Node, &Node::other_prev, &Node::other_next>;

template <class List>
std::vector<std::string> names(const List& list) {
    std::vector<std::string> out;
    for (const Node* node = list.front(); node != nullptr; node = List::next(node)) out.push_back(node->name);
    return out;
}

}  // namespace

TEST_CASE("an intrusive list keeps its records in order from both ends", "[containers][intrusive_list]") {
    Node a{"a"}, b{"b"}, c{"c"};
    IntrusiveList<Node> list;
    CHECK(list.empty());
    CHECK(list.front() == nullptr);
    list.push_back(&b);
    list.push_back(&c);
    list.push_front(&a);
    CHECK(list.size() == 3);
    CHECK(names(list) == std::vector<std::string>{"a", "b", "c"});
    list.pop_front();
    CHECK(names(list) == std::vector<std::string>{"b", "c"});
    CHECK(a.prev == nullptr);
    CHECK(a.next == nullptr);
}

TEST_CASE("any record can be erased from an intrusive list", "[containers][intrusive_list]") {
    Node a{"a"}, b{"b"}, c{"c"};
    IntrusiveList<Node> list;
    for (Node* node : {&a, &b, &c}) list.push_back(node);

    SECTION("the middle") {
        list.erase(&b);
        CHECK(names(list) == std::vector<std::string>{"a", "c"});
    }
    SECTION("the head") {
        list.erase(&a);
        CHECK(names(list) == std::vector<std::string>{"b", "c"});
    }
    SECTION("the tail, then a push goes after the new tail") {
        list.erase(&c);
        list.push_back(&c);
        CHECK(names(list) == std::vector<std::string>{"a", "b", "c"});
    }
    SECTION("every record, leaving a list that can be used again") {
        list.erase(&b);
        list.erase(&a);
        list.erase(&c);
        CHECK(list.empty());
        CHECK(list.size() == 0);
        list.push_back(&c);
        CHECK(names(list) == std::vector<std::string>{"c"});
    }
}

TEST_CASE("an intrusive list says whether it holds a record, also a lone one", "[containers][intrusive_list]") {
    Node a{"a"}, b{"b"};
    IntrusiveList<Node> list;
    CHECK_FALSE(list.contains(&a));
    list.push_back(&a);
    CHECK(list.contains(&a));
    CHECK_FALSE(list.contains(&b));
    list.push_back(&b);
    CHECK(list.contains(&b));
    list.erase(&a);
    CHECK_FALSE(list.contains(&a));
    CHECK(list.contains(&b));
}

TEST_CASE("a record is in two lists at once through two pairs of links", "[containers][intrusive_list]") {
    Node a{"a"}, b{"b"}, c{"c"};
    IntrusiveList<Node> first;
    OtherList second;
    for (Node* node : {&a, &b, &c}) first.push_back(node);
    for (Node* node : {&c, &a}) second.push_back(node);
    CHECK(names(first) == std::vector<std::string>{"a", "b", "c"});
    CHECK(names(second) == std::vector<std::string>{"c", "a"});
    second.erase(&c);
    CHECK(names(first) == std::vector<std::string>{"a", "b", "c"});
    CHECK(names(second) == std::vector<std::string>{"a"});
    first.erase(&a);
    CHECK(names(second) == std::vector<std::string>{"a"});
}
