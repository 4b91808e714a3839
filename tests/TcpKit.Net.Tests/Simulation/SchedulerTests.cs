using CsCheck;
using TcpKit.Net.Simulation;
using TcpKit.Wire;

namespace TcpKit.Net.Tests.Simulation;

public class SchedulerTests
{
    private static Instant Ms(long ms) => Instant.FromMilliseconds(ms);

    [Fact]
    public void Events_with_equal_deadlines_run_in_the_order_they_were_scheduled()
    {
        var net = new SimulatedNetwork(1);
        var order = new List<int>();
        for (int i = 0; i < 50; i++)
        {
            int id = i;
            // Interleave two deadlines so the heap has to keep ties stable across sifts.
            net.Schedule(Ms(i % 2 == 0 ? 5 : 3), () => order.Add(id));
        }

        Assert.True(net.RunUntilIdle(Ms(10)));

        var expected = new List<int>();
        for (int i = 1; i < 50; i += 2)
        {
            expected.Add(i);
        }

        for (int i = 0; i < 50; i += 2)
        {
            expected.Add(i);
        }

        Assert.Equal(expected, order);
    }

    [Fact]
    public void Each_event_sees_its_own_deadline_as_the_current_time()
    {
        var net = new SimulatedNetwork(1);
        var seen = new List<Instant>();
        net.Schedule(Ms(7), () => seen.Add(net.Now));
        net.Schedule(Ms(2), () => seen.Add(net.Now));
        net.RunUntilIdle(Ms(100));
        Assert.Equal([Ms(2), Ms(7)], seen);
        Assert.Equal(Ms(7), net.Now);
    }

    [Fact]
    public void A_cancelled_timer_never_fires()
    {
        var net = new SimulatedNetwork(1);
        int fired = 0;
        SimTimer timer = net.Schedule(Ms(5), () => fired++);
        SimTimer other = net.Schedule(Ms(1), timer.Cancel);
        net.RunUntil(Ms(100));
        Assert.Equal(0, fired);
        Assert.False(timer.IsArmed);
        Assert.Equal(Instant.Never, timer.Deadline);
        Assert.False(other.IsArmed);
    }

    [Fact]
    public void Rescheduling_an_armed_timer_moves_it_instead_of_adding_a_second_firing()
    {
        var net = new SimulatedNetwork(1);
        var firedAt = new List<Instant>();
        SimTimer timer = net.CreateTimer(() => firedAt.Add(net.Now));
        timer.Set(Ms(10));
        timer.Set(Ms(4));
        timer.Set(Ms(20));
        Assert.Equal(1, net.PendingEvents);
        net.RunUntilIdle(Ms(100));
        Assert.Equal([Ms(20)], firedAt);
    }

    [Fact]
    public void A_timer_can_rearm_itself_from_its_callback()
    {
        var net = new SimulatedNetwork(1);
        var firedAt = new List<Instant>();
        SimTimer? timer = null;
        timer = net.CreateTimer(() =>
        {
            firedAt.Add(net.Now);
            if (firedAt.Count < 3)
            {
                timer!.Set(net.Now + TimeSpan.FromMilliseconds(10));
            }
        });
        timer.Set(Ms(1));
        Assert.True(net.RunUntilIdle(Ms(1000)));
        Assert.Equal([Ms(1), Ms(11), Ms(21)], firedAt);
    }

    [Fact]
    public void A_deadline_in_the_past_fires_at_the_current_time_because_time_never_runs_backwards()
    {
        var net = new SimulatedNetwork(1);
        net.RunUntil(Ms(50));
        Instant firedAt = Instant.Never;
        net.Schedule(Ms(10), () => firedAt = net.Now);
        net.Step();
        Assert.Equal(Ms(50), firedAt);
    }

    [Fact]
    public void RunUntil_processes_events_up_to_and_including_the_limit_then_sets_the_clock_to_it()
    {
        var net = new SimulatedNetwork(1);
        int fired = 0;
        net.Schedule(Ms(10), () => fired++);
        net.Schedule(Ms(11), () => fired++);
        net.RunUntil(Ms(10));
        Assert.Equal(1, fired);
        Assert.Equal(Ms(10), net.Now);
        Assert.Equal(Ms(11), net.NextEventTime);
        net.RunFor(TimeSpan.FromMilliseconds(5));
        Assert.Equal(2, fired);
        Assert.Equal(Ms(15), net.Now);
    }

    [Fact]
    public void RunUntilIdle_stops_at_its_limit_when_a_timer_keeps_rearming()
    {
        var net = new SimulatedNetwork(1);
        int fired = 0;
        SimTimer? timer = null;
        timer = net.CreateTimer(() =>
        {
            fired++;
            timer!.Set(net.Now + TimeSpan.FromMilliseconds(1));
        });
        timer.Set(Ms(0));
        Assert.False(net.RunUntilIdle(Ms(99)));
        Assert.Equal(100, fired); // at 0, 1, ..., 99 ms
        Assert.Equal(Ms(99), net.Now);
    }

    [Fact]
    public void RunWhile_stops_as_soon_as_the_condition_turns_false()
    {
        var net = new SimulatedNetwork(1);
        int fired = 0;
        for (int i = 1; i <= 10; i++)
        {
            net.Schedule(Ms(i), () => fired++);
        }

        Assert.True(net.RunWhile(() => fired < 4));
        Assert.Equal(4, fired);
        Assert.Equal(Ms(4), net.Now);
        Assert.False(net.RunWhile(() => true, Ms(6)));
        Assert.Equal(6, fired);
        Assert.False(net.RunWhile(() => true));
        Assert.Equal(10, fired);
    }

    [Fact]
    public void Stepping_the_simulation_from_inside_a_callback_is_refused()
    {
        var net = new SimulatedNetwork(1);
        net.Schedule(Ms(1), () => net.Step());
        net.Schedule(Ms(2), () => { });
        Assert.Throws<InvalidOperationException>(() => net.Step());
    }

    [Fact]
    public void Step_on_an_idle_network_returns_false_and_leaves_the_clock_alone()
    {
        var net = new SimulatedNetwork(1, Ms(3));
        Assert.False(net.Step());
        Assert.Equal(Ms(3), net.Now);
        Assert.Equal(Instant.Never, net.NextEventTime);
    }

    /// <summary>
    /// Random interleavings of schedule, move and cancel fire exactly the live timers, each once, in
    /// (deadline, last-set order), checked against a plain sorted-list model of the heap.
    /// </summary>
    [Fact]
    public void Timers_fire_in_deadline_then_setting_order_under_any_mix_of_set_and_cancel()
    {
        Gen.Select(Gen.Int[0, 2], Gen.Int[0, 19], Gen.Int[0, 30]).Array[1, 200].Sample(ops =>
        {
            var net = new SimulatedNetwork(1);
            var fired = new List<int>();
            var timers = new SimTimer[20];
            for (int i = 0; i < timers.Length; i++)
            {
                int id = i;
                timers[i] = net.CreateTimer(() => fired.Add(id));
            }

            // Model: id -> (deadline, order of last set), or absent when not armed.
            var model = new Dictionary<int, (int Deadline, int Order)>();
            int order = 0;
            foreach ((int op, int id, int deadline) in ops)
            {
                if (op == 2)
                {
                    timers[id].Cancel();
                    model.Remove(id);
                }
                else
                {
                    timers[id].Set(Ms(deadline));
                    model[id] = (deadline, order++);
                }
            }

            net.RunUntilIdle(Ms(1000));
            var expected = model.OrderBy(kv => kv.Value.Deadline).ThenBy(kv => kv.Value.Order).Select(kv => kv.Key).ToList();
            Assert.Equal(expected, fired);
        });
    }
}
