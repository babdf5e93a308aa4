package dev.scemu.nbd.internal;

import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Accept loop of one listening socket (TCP or unix domain); ends when the socket is closed. */
public final class Listener implements Runnable {

    private static final Logger LOG = LoggerFactory.getLogger(Listener.class);

    private static final long ACCEPT_ERROR_BACKOFF_MILLIS = 50;

    private final ServerSocketChannel server;
    private final String description;
    private final Consumer<SocketChannel> onAccept;

    public Listener(ServerSocketChannel server, String description, Consumer<SocketChannel> onAccept) {
        this.server = server;
        this.description = description;
        this.onAccept = onAccept;
    }

    @Override
    public void run() {
        while (server.isOpen()) {
            try {
                SocketChannel client = server.accept();
                onAccept.accept(client);
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (!server.isOpen()) {
                    return;
                }
                LOG.warn("{}: accept failed: {}", description, e.toString());
                backOff(); // e.g. out of file descriptors: do not spin
            }
        }
    }

    private static void backOff() {
        try {
            Thread.sleep(ACCEPT_ERROR_BACKOFF_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    public void close() {
        try {
            server.close();
        } catch (IOException e) {
            LOG.debug("{}: close failed: {}", description, e.toString());
        }
    }
}
