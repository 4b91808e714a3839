using System.Globalization;
using TcpKit.Wire.Tcp;

namespace TcpKit.Net.Demo;

/// <summary>One line of explanation per step of the lesson, in the words of a textbook.</summary>
public static class LessonExplainer
{
    public static string Explain(LessonSide from, TcpFlags flags, int length, string? payload, uint seq, uint? ack, StateChange sender, StateChange receiver, bool retransmission, bool delivered, bool clientCloses)
    {
        string who = Name(from);
        string peer = Name(from == LessonSide.Client ? LessonSide.Server : LessonSide.Client);
        string text;
        if ((flags & TcpFlags.Rst) != 0)
        {
            text = $"RST: the {who} resets the connection; both ends forget it at once.";
        }
        else if ((flags & (TcpFlags.Syn | TcpFlags.Ack)) == TcpFlags.Syn)
        {
            text = $"SYN: the {who} asks to open a connection and picks its initial sequence number (shown as relative 0).";
        }
        else if ((flags & TcpFlags.Syn) != 0)
        {
            text = $"SYN-ACK: the {who} acknowledges the {peer}'s SYN (Ack=1) and sends its own SYN with its own initial sequence number.";
        }
        else if ((flags & TcpFlags.Fin) != 0)
        {
            text = sender.After switch
            {
                TcpState.FinWait1 => $"FIN: the {who} has nothing more to send{(from == LessonSide.Server && !clientCloses ? " (its program was stopped)" : "")} and closes first: active close.",
                TcpState.LastAck => $"FIN: the {who} closes its side too; now it waits for the last ACK.",
                TcpState.Closing => $"FIN: both ends closed at the same time: simultaneous close.",
                _ => $"FIN: the {who} closes its sending side.",
            };
        }
        else if (length > 0)
        {
            text = string.Create(CultureInfo.InvariantCulture, $"Data: the {who} sends \"{payload}\" ({length} byte{(length == 1 ? "" : "s")} at Seq={seq}); PSH asks the {peer} to hand it to the application at once.");
        }
        else if (receiver.Before == TcpState.SynReceived && receiver.After == TcpState.Established)
        {
            text = $"ACK: the {who} acknowledges the {peer}'s SYN; the three-way handshake is complete.";
        }
        else if (receiver.Changed && receiver.After == TcpState.FinWait2)
        {
            text = $"ACK: the {who} acknowledges the FIN; the {peer} waits in FIN-WAIT-2 while the {who} may still send (half-close).";
        }
        else if (receiver.Changed && receiver.After == TcpState.Closed && receiver.Before == TcpState.LastAck)
        {
            text = $"ACK: the {who} acknowledges the last FIN and stays in TIME-WAIT for 2xMSL, so a lost ACK can be repeated and old duplicates die out.";
        }
        else if (sender.After == TcpState.TimeWait)
        {
            text = $"ACK: the {who} acknowledges the {peer}'s FIN and waits in TIME-WAIT for 2xMSL.";
        }
        else
        {
            text = string.Create(CultureInfo.InvariantCulture, $"ACK: the {who} acknowledges the data: the next byte it expects is {ack}.");
        }

        if (retransmission)
        {
            text = "Retransmission: no ACK came back in time, so the " + who + " sends it again. " + text;
        }

        if (!delivered)
        {
            text += " (Lost on the way.)";
        }

        return text;
    }

    public static string TimeWaitEnds(LessonSide side, TimeSpan timeWait) =>
        string.Create(CultureInfo.InvariantCulture, $"The {Name(side)}'s 2xMSL timer ({timeWait.TotalSeconds:0} s) expires: TIME-WAIT ends and the connection is CLOSED.");

    private static string Name(LessonSide side) => side == LessonSide.Client ? "client" : "server";
}
