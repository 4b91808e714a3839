using CsCheck;
using TcpKit.Net.Host;
using Xunit;

namespace TcpKit.Net.Tests.Host;

public class DeadlineLaneTests
{
    /// <summary>
    /// Random appends, entries going stale, trims and takes at the front, and compactions (in place or into a larger
    /// ring), against a list as the model: the lane keeps the model's entries in the model's order, every entry is
    /// found at the position it was given (or moved to), and the front and the last entry are the model's.
    /// </summary>
    [Fact]
    public void Appends_stale_entries_trims_and_compactions_agree_with_a_list()
    {
        var op = Gen.Select(Gen.Int[0, 9], Gen.Int[0, 1000]);
        op.Array[1, 600].Sample(ops =>
        {
            var lane = new DeadlineLane<Item>();
            var model = new List<int>(); // ids in lane order, live and stale
            var state = new State();
            var liveness = new Liveness(state);
            int nextId = 0;
            int mostLive = 0;
            foreach (var (kind, pick) in ops)
            {
                switch (kind)
                {
                    case <= 3: // append, making room first when full
                        if (lane.IsFull)
                        {
                            lane.EnsureRoom(ref liveness);
                            model.RemoveAll(id => state.Stale.Contains(id));
                        }

                        int fresh = nextId++;
                        state.Positions[fresh] = lane.Append(new Item(fresh));
                        model.Add(fresh);
                        break;
                    case <= 5: // a live entry goes stale in place, found through its position
                        var live2 = model.Where(id => !state.Stale.Contains(id)).ToList();
                        if (live2.Count > 0)
                        {
                            int id = live2[pick % live2.Count];
                            Assert.Equal(id, lane.At(state.Positions[id]).Id);
                            state.Stale.Add(id);
                        }

                        break;
                    case 6: // the front comes due and is taken
                        if (model.Count > 0)
                        {
                            Assert.Equal(model[0], lane.Front.Id);
                            lane.PopFront();
                            state.Stale.Add(model[0]);
                            model.RemoveAt(0);
                        }

                        break;
                    case 7:
                        lane.TrimFront(ref liveness);
                        while (model.Count > 0 && state.Stale.Contains(model[0]))
                        {
                            model.RemoveAt(0);
                        }

                        break;
                    default: // compaction in place, or into a ring twice as large while it is small (so it keeps wrapping)
                        lane.Compact(kind == 8 || lane.Capacity >= 64 ? lane.Capacity : lane.Capacity * 2, ref liveness);
                        model.RemoveAll(id => state.Stale.Contains(id));
                        break;
                }

                Assert.Equal(model.Count, lane.Count);
                if (model.Count > 0)
                {
                    Assert.Equal(model[0], lane.Front.Id);
                    Assert.Equal(model[^1], lane.Last.Id);
                }

                foreach (int id in model)
                {
                    Assert.Equal(id, lane.At(state.Positions[id]).Id);
                }

                // Grown only when more than half of a full ring is live, or on request while under 64.
                mostLive = Math.Max(mostLive, model.Count(id => !state.Stale.Contains(id)));
                Assert.True(lane.Capacity <= Math.Max(64, 4 * mostLive), $"ring of {lane.Capacity} for at most {mostLive} live entries");
            }
        }, iter: 300);
    }

    /// <summary>A ring whose entries wrap past its end, with stale ones on both sides of the seam, compacted in place and then grown.</summary>
    [Fact]
    public void A_wrapped_ring_compacts_in_place_and_grows_in_order()
    {
        var lane = new DeadlineLane<Item>();
        var state = new State();
        var liveness = new Liveness(state);
        for (int id = 0; id < 16; id++)
        {
            state.Positions[id] = lane.Append(new Item(id));
        }

        for (int i = 0; i < 10; i++)
        {
            lane.PopFront(); // ids 0-9: the front is now at place 10
        }

        for (int id = 16; id < 26; id++)
        {
            state.Positions[id] = lane.Append(new Item(id)); // places 0-9: the ring wraps
        }

        Assert.True(lane.IsFull);
        foreach (int id in new[] { 10, 11, 13, 15, 16, 18, 25 })
        {
            state.Stale.Add(id);
        }

        lane.Compact(lane.Capacity, ref liveness);
        int[] expected = [12, 14, 17, 19, 20, 21, 22, 23, 24];
        AssertHolds(expected);
        Assert.Equal(16, lane.Capacity);

        for (int id = 26; lane.Count < lane.Capacity; id++)
        {
            state.Positions[id] = lane.Append(new Item(id));
        }

        state.Stale.Add(17);
        lane.Compact(lane.Capacity * 2, ref liveness);
        AssertHolds([12, 14, 19, 20, 21, 22, 23, 24, 26, 27, 28, 29, 30, 31, 32]);
        Assert.Equal(32, lane.Capacity);

        void AssertHolds(int[] ids)
        {
            Assert.Equal(ids.Length, lane.Count);
            Assert.Equal(ids[0], lane.Front.Id);
            Assert.Equal(ids[^1], lane.Last.Id);
            foreach (int id in ids)
            {
                Assert.Equal(id, lane.At(state.Positions[id]).Id);
            }

            for (int k = 0; k < ids.Length; k++)
            {
                Assert.Equal(ids[k], lane.Front.Id);
                var taken = lane.Front;
                lane.PopFront();
                state.Positions[taken.Id] = lane.Append(taken); // round the ring once, to read the order
            }
        }
    }

    [Fact]
    public void Appending_to_a_full_lane_is_refused_rather_than_overwriting_its_oldest_entry()
    {
        var lane = new DeadlineLane<Item>();
        for (int i = 0; i < lane.Capacity; i++)
        {
            lane.Append(new Item(i));
        }

        Assert.Throws<InvalidOperationException>(() => lane.Append(new Item(-1)));
        Assert.Equal(0, lane.Front.Id);
    }

    [Fact]
    public void A_lane_whose_entries_go_stale_as_fast_as_they_come_stays_small()
    {
        var lane = new DeadlineLane<Item>();
        var state = new State();
        var liveness = new Liveness(state);
        for (int id = 0; id < 100_000; id++)
        {
            lane.EnsureRoom(ref liveness);
            state.Positions[id] = lane.Append(new Item(id));
            if (id >= 10)
            {
                state.Stale.Add(id - 10); // ten live at a time, the rest stale in place (not at the front)
            }
        }

        Assert.True(lane.Capacity <= 64, $"ring of {lane.Capacity} for ten live entries");
        Assert.Equal(10, lane.CountLive(ref liveness));
    }

    [Fact]
    public void Compaction_tells_the_owner_where_each_live_entry_went()
    {
        var lane = new DeadlineLane<Holder>();
        var positions = new Dictionary<int, long>();
        var liveness = new HolderLiveness(positions);
        for (int id = 0; id < 20; id++)
        {
            lane.EnsureRoom(ref liveness); // at id 16: into a ring of 32, without ids 0, 3, ..., 15
            positions[id] = lane.Append(new Holder(id, id % 3 == 0 ? null : new object()));
        }

        lane.PopFront(); // id 1, the front: live, taken as a deadline that came due
        positions.Remove(1);
        lane.Compact(lane.Capacity, ref liveness); // drops 18, moves 19
        var expected = Enumerable.Range(2, 18).Where(id => id % 3 != 0).ToList();
        Assert.Equal(expected.Count, lane.Count);
        foreach (int id in expected)
        {
            Assert.Equal(id, lane.At(positions[id]).Id);
        }

        Assert.Equal(expected[0], lane.Front.Id);
        Assert.Equal(expected[^1], lane.Last.Id);
    }

    [Fact]
    public void Entries_taken_or_moved_leave_nothing_behind_that_keeps_their_objects_alive()
    {
        var lane = new DeadlineLane<Holder>();
        var weak = Fill(lane);
        var positions = new Dictionary<int, long>();
        var liveness = new HolderLiveness(positions);
        lane.Compact(lane.Capacity, ref liveness); // the live entry moves from place 1 to place 0
        lane.PopFront(); // and is taken
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(weak.TryGetTarget(out _), "the lane still refers to an object it no longer holds");

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        static WeakReference<object> Fill(DeadlineLane<Holder> lane)
        {
            var owner = new object();
            lane.Append(new Holder(0, null)); // stale
            lane.Append(new Holder(1, owner));
            return new WeakReference<object>(owner);
        }
    }

    private readonly record struct Item(int Id);

    private sealed class State
    {
        public HashSet<int> Stale { get; } = [];

        public Dictionary<int, long> Positions { get; } = [];
    }

    private readonly struct Liveness(State state) : ILaneLiveness<Item>
    {
        public bool IsLive(in Item entry) => !state.Stale.Contains(entry.Id);

        public void Moved(in Item entry, long position) => state.Positions[entry.Id] = position;
    }

    private readonly record struct Holder(int Id, object? Owner);

    private readonly struct HolderLiveness(Dictionary<int, long> positions) : ILaneLiveness<Holder>
    {
        public bool IsLive(in Holder entry) => entry.Owner is not null;

        public void Moved(in Holder entry, long position) => positions[entry.Id] = position;
    }
}
