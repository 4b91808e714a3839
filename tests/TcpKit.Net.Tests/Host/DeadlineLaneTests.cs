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
            foreach (var (kind, pick) in ops)
            {
                switch (kind)
                {
                    case <= 3: // append, growing or compacting first when full as the host's owners do
                        if (lane.IsFull)
                        {
                            int live = lane.CountLive(ref liveness);
                            lane.Compact(live * 2 <= lane.Count ? lane.Capacity : lane.Capacity * 2, ref liveness);
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
                    default: // compaction in place, or into a ring twice as large (up to a size)
                        lane.Compact(kind == 8 || lane.Capacity >= 1024 ? lane.Capacity : lane.Capacity * 2, ref liveness);
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
            }
        }, iter: 300);
    }

    [Fact]
    public void A_lane_whose_entries_go_stale_as_fast_as_they_come_stays_small()
    {
        var lane = new DeadlineLane<Item>();
        var state = new State();
        var liveness = new Liveness(state);
        for (int id = 0; id < 100_000; id++)
        {
            if (lane.IsFull)
            {
                int live = lane.CountLive(ref liveness);
                lane.Compact(live * 2 <= lane.Count ? lane.Capacity : lane.Capacity * 2, ref liveness);
            }

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
            if (lane.IsFull)
            {
                lane.Compact(lane.Capacity * 2, ref liveness); // drops ids 0, 3, ..., 15 and moves the rest
            }

            positions[id] = lane.Append(new Holder(id, id % 3 == 0 ? null : new object()));
        }

        Assert.Throws<InvalidOperationException>(() =>
        {
            var full = new DeadlineLane<Holder>();
            for (int i = 0; i <= full.Capacity; i++)
            {
                full.Append(default);
            }
        });
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
