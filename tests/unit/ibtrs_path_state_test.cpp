// SPDX-License-Identifier: GPL-2.0
// The client path state machine (ibtrs/core/path_state.h): the transitions
// of connect, failure, recovery, reconnect and close, including the races
// the client resolves with them.
#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <ibtrs/core/path_state.h>

using ibtrs::PathState;
using ibtrs::PathStateMachine;

TEST(IbtrsPathState, ConnectFailRecoverReconnect) {
  PathStateMachine m;
  EXPECT_EQ(m.get(), PathState::kConnecting);
  EXPECT_TRUE(m.connected());
  EXPECT_TRUE(m.is_connected());
  EXPECT_TRUE(m.fail());
  EXPECT_FALSE(m.fail());  // a second error of the same burst does nothing
  EXPECT_EQ(m.get(), PathState::kError);
  EXPECT_FALSE(m.begin_reconnect());  // not before the teardown finished
  EXPECT_TRUE(m.recovered());
  EXPECT_TRUE(m.begin_reconnect());
  EXPECT_TRUE(m.connect_failed());
  EXPECT_EQ(m.get(), PathState::kDisconnected);
  EXPECT_TRUE(m.begin_reconnect());
  EXPECT_TRUE(m.connected());
  EXPECT_STREQ(ibtrs::path_state_name(m.get()), "connected");
}

TEST(IbtrsPathState, CloseWinsOverRecoveryAndReconnect) {
  PathStateMachine m;
  ASSERT_TRUE(m.connected());
  ASSERT_TRUE(m.fail());
  EXPECT_EQ(m.begin_close(), PathState::kError);
  EXPECT_FALSE(m.recovered());  // recovery must not schedule a reconnect
  EXPECT_FALSE(m.fail());
  m.end_close(true);
  EXPECT_EQ(m.get(), PathState::kClosed);
  EXPECT_FALSE(m.begin_reconnect());
  EXPECT_STREQ(ibtrs::path_state_name(m.get()), "closed");

  PathStateMachine r;
  r.set(PathState::kDisconnected);
  ASSERT_TRUE(r.begin_reconnect());
  EXPECT_EQ(r.begin_close(), PathState::kConnecting);
  EXPECT_FALSE(r.connected());       // the reconnect must undo its set-up
  EXPECT_FALSE(r.connect_failed());  // and must not reschedule itself
}

TEST(IbtrsPathState, ManualDisconnectThenReconnect) {
  PathStateMachine m;
  ASSERT_TRUE(m.connected());
  EXPECT_EQ(m.begin_close(), PathState::kConnected);
  m.end_close(false);
  EXPECT_EQ(m.get(), PathState::kDisconnected);
  EXPECT_STREQ(ibtrs::path_state_name(m.get()), "disconnected");
  EXPECT_TRUE(m.begin_reconnect());
  EXPECT_TRUE(m.connected());
}

TEST(IbtrsPathState, ExactlyOneOfManyConcurrentFailuresWins) {
  for (int round = 0; round < 50; round++) {
    PathStateMachine m;
    ASSERT_TRUE(m.connected());
    std::atomic<int> winners{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; t++)
      threads.emplace_back([&] {
        if (m.fail()) winners++;
      });
    for (auto& t : threads) t.join();
    EXPECT_EQ(winners.load(), 1);
    EXPECT_EQ(m.get(), PathState::kError);
  }
}
