// SPDX-License-Identifier: GPL-2.0
// Reconnect backoff with jitter (ibtrs/core/backoff.h).
#include <gtest/gtest.h>

#include <ibtrs/core/backoff.h>

using ibtrs::backoff_delay_ms;

TEST(IbtrsBackoff, FirstAttemptWaitsTheConfiguredDelayPlusJitter) {
  // jitter span = d/4 + 8
  EXPECT_EQ(backoff_delay_ms(30000, 0, 0), 30000u);
  EXPECT_EQ(backoff_delay_ms(30000, 0, 7508), 30000u + 7508u % 7508u);
  EXPECT_EQ(backoff_delay_ms(30000, 0, 7507), 37507u);
}

TEST(IbtrsBackoff, ZeroDelayUsesTheFloor) {
  EXPECT_EQ(backoff_delay_ms(0, 0, 0), ibtrs::kMinDelayMs);
}

TEST(IbtrsBackoff, DoublesUpToSixteenTimesThenStays) {
  EXPECT_EQ(backoff_delay_ms(1000, 1, 0), 2000u);
  EXPECT_EQ(backoff_delay_ms(1000, 2, 0), 4000u);
  EXPECT_EQ(backoff_delay_ms(1000, 3, 0), 8000u);
  EXPECT_EQ(backoff_delay_ms(1000, 4, 0), 16000u);
  EXPECT_EQ(backoff_delay_ms(1000, 5, 0), 16000u);
  EXPECT_EQ(backoff_delay_ms(1000, 1000000, 0), 16000u);
}

TEST(IbtrsBackoff, CappedAtTwoMinutesUnlessTheDelayIsLonger) {
  EXPECT_EQ(backoff_delay_ms(30000, 4, 0), ibtrs::kMaxBackoffMs);
  EXPECT_EQ(backoff_delay_ms(200000, 4, 0), 200000u);
}

TEST(IbtrsBackoff, JitterStaysBelowAQuarterOfTheDelayAndSpreads) {
  unsigned seen_distinct = 0, last = 0;
  for (unsigned r = 0; r < 5000; r += 37) {
    const unsigned d = backoff_delay_ms(1000, 0, r * 2654435761u);
    EXPECT_GE(d, 1000u);
    EXPECT_LT(d, 1000u + 1000u / 4 + 8);
    if (d != last) seen_distinct++;
    last = d;
  }
  EXPECT_GT(seen_distinct, 50u);
}

TEST(IbtrsBackoff, NeverOverflows) {
  EXPECT_EQ(backoff_delay_ms(0xffffffffu, 31, 0xffffffffu), 0xffffffffu);
}
