namespace TcpKit.Net.Simulation;

/// <summary>A point-to-point link between two hosts: one channel per direction.</summary>
public sealed class SimulatedLink
{
    internal SimulatedLink(SimulatedNic a, SimulatedNic b, SimulatedChannel aToB, SimulatedChannel bToA)
    {
        A = a;
        B = b;
        AToB = aToB;
        BToA = bToA;
    }

    public SimulatedNic A { get; }

    public SimulatedNic B { get; }

    public SimulatedChannel AToB { get; }

    public SimulatedChannel BToA { get; }

    public override string ToString() => $"{A.Name}<->{B.Name}";
}
